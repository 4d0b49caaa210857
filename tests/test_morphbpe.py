"""MorphBPE: no learned token crosses a training boundary, the alignment rule, Morfessor fallback,
ordinary BPE export (stock tokenizers, CLI)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokensmith
from tokensmith import _core
from tokensmith.corpus import Corpus
from tokensmith.methods.bpe import count_words
from tokensmith.methods.morphbpe import (_LETTERS, MorphBpeConfig, _letter_table, read_morphemes, segment_piece,
                                        segmented_counts, surface_cuts, train_morfessor)


@pytest.fixture(scope="module")
def lines(tiny_data):
    return (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def gold_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "gold.tsv"
    rows = ["word\tmorphemes", "walked\twalk ed", "walking\twalk ing", "talking\ttalk ing", "unkind\tun kind",
            "kindness\tkind ness", "christmas\tchrist mas", "the\tthe", "there\tthere", "ozonising\tozone ise ing"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def morph(lines, gold_file):
    return tokensmith.train(lines, method="morphbpe", vocab_size=900, segmentations=[str(gold_file)],
                            morfessor=False, progress="none")


def test_alignment_rule():
    assert surface_cuts("ozonising", ["ozone", "ise", "ing"]) == [4, 6]
    assert surface_cuts("abatchanka", ["abat", "chan", "k", "a"]) == [4, 8, 9]
    assert surface_cuts("Walked", ["walk", "ed"]) == [4]
    assert surface_cuts("happiness", ["happy", "ness"]) == [5]
    assert surface_cuts("cat", ["cat"]) == []


@settings(max_examples=60, deadline=None)
@given(word=st.text(alphabet="abcdeé", min_size=1, max_size=12),
       morphs=st.lists(st.text(alphabet="abcdeé", min_size=1, max_size=5), min_size=1, max_size=4))
def test_cuts_are_inside_and_increasing(word, morphs):
    cuts = surface_cuts(word, morphs)
    assert all(0 < c < len(word) for c in cuts)
    assert cuts == sorted(set(cuts))
    if "".join(morphs) == word:
        assert len(cuts) == len(morphs) - 1


def test_no_token_crosses_a_training_boundary(lines, gold_file, morph):
    counts = _core.WordCounts.count_texts(lines, "o200k", "none", 1)
    config = MorphBpeConfig(vocab_size=900, segmentations=(str(gold_file),), morfessor=False)
    words = segmented_counts(counts, config)
    assert sum(len(s) > 1 for s, _ in words) > 5
    # MorphBPE is BPE on the segments as separate words: same merges, same vocabulary.
    flat: dict[bytes, int] = {}
    for segs, c in words:
        for s in segs:
            flat[s] = flat.get(s, 0) + c
    vocab, merges = _core.train_bpe(flat, 900, progress="none")
    assert morph.merges == [tuple(m) for m in merges]
    # Every learned token spells a substring of some training segment (never only across a cut).
    segments = [s for segs, _ in words for s in segs]
    assert all(any(t in seg for seg in segments) for t in vocab[256:])


@settings(max_examples=30, deadline=None)
@given(words=st.dictionaries(st.text(alphabet="abcd", min_size=2, max_size=8), st.integers(1, 20), min_size=1,
                             max_size=20), data=st.data())
def test_segments_never_merge_across_random(words, data):
    segmented = []
    for w, c in words.items():
        cut = data.draw(st.integers(1, len(w) - 1))
        segmented.append(([w[:cut].encode(), w[cut:].encode()], c))
    vocab, _ = _core.train_bpe(segmented, 300, min_frequency=1, progress="none")
    pieces = [s for segs, _ in segmented for s in segs]
    assert all(any(t in p for p in pieces) for t in vocab[256:])


def test_segment_piece_and_morfessor(lines):
    assert segment_piece(" walked,", {"walked": [4]}.get) == [" walk", "ed,"]
    assert segment_piece("42", {}.get) == ["42"]
    tok = tokensmith.train(lines[:400], method="morphbpe", vocab_size=500, morfessor=True, morfessor_words=300,
                           morfessor_epochs=1, progress="none")
    assert tok.config["segmented_words"] > 0
    assert tok.config["config"]["morfessor_words"] == 300


def test_encoding_is_plain_bpe_and_exports(morph, tmp_path, lines):
    import tokenizers

    sample = "\n".join(lines[:40])
    assert morph.decode(morph.encode_ordinary(sample)) == sample
    morph.save(tmp_path / "m")
    stock = tokenizers.Tokenizer.from_file(str(tmp_path / "m" / "tokenizer.json"))
    assert stock.encode(sample, add_special_tokens=False).ids == morph.encode_ordinary(sample)
    out = subprocess.run([sys.executable, "-m", "tokensmith", "encode", "--tokenizer", str(tmp_path / "m")],
                         input="they walked\n", capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [int(x) for x in out.stdout.split()] == morph.encode_ordinary("they walked")
    assert tokensmith.load(tmp_path / "m").config["config"]["segmentations"] == morph.config["config"]["segmentations"]


# --- The Rust segmenter (`_core.morph_segment`, `_core.Morfessor`) against the Python reference. ---

# Letters, digits, punctuation, spaces and non-ASCII: case folds that change length (ß, İ, ﬁ), final
# sigma, Cherokee (folds to upper case), non-decimal numerics that count as letters (², ½, Ⅻ), CJK,
# Arabic, a combining mark, the underscore.
_ALPHABET = "abcWXYZ019 _-,.'éÉßẞİıΣσςﬁᏀꭰ²½Ⅻ五中ب\u0301"


@pytest.fixture(scope="module")
def small_model():
    words = {w: 1 for w in ["walk", "walked", "walking", "talk", "talked", "talking", "kind", "unkind", "kindness",
                            "straße", "éclair", "éclairs", "σοφία", "σοφίας"]}
    return train_morfessor(words, max_words=100, epochs=5)


def _python_segments(counts, gold, model):
    """The pre-Rust path: ``segment_piece`` on each valid UTF-8 piece, gold first, then the model."""
    def lookup(run):
        if run in gold:
            return gold[run]
        return model(run) if model is not None else None

    out = {}
    for raw, _ in counts.items():
        raw = bytes(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            out[raw] = [raw]
            continue
        out[raw] = [s.encode("utf-8") for s in segment_piece(text, lookup)]
    return out


def _rust_segments(counts, gold, model):
    words = _core.morph_segment(counts, _letter_table(counts), gold, model)
    assert [c for _, c in words] == [c for _, c in counts.items()]  # most frequent first, like items()
    return {b"".join(segs): segs for segs, _ in words}


def test_rust_segments_equal_python_on_tiny_corpus(lines, gold_file):
    counts = _core.WordCounts.count_texts(lines, "o200k", "none", 1)
    gold = {run: surface_cuts(*wm) for run, wm in read_morphemes([gold_file]).items()}
    runs = _core.letter_run_counts(counts, _letter_table(counts))
    model = train_morfessor(runs, max_words=500, epochs=2)
    ours, ref = _rust_segments(counts, gold, model), _python_segments(counts, gold, model)
    assert ours == ref
    assert sum(len(s) > 1 for s in ours.values()) > 1000
    config = MorphBpeConfig(vocab_size=900, segmentations=(str(gold_file),), morfessor_words=500, morfessor_epochs=2)
    assert {b"".join(s): s for s, _ in segmented_counts(counts, config)} == ref
    # Letter runs and their counts as Python's regex and casefold give them.
    expected: dict[str, int] = {}
    for raw, c in counts.items():
        for m in _LETTERS.finditer(bytes(raw).decode("utf-8", errors="ignore")):
            expected[m.group().casefold()] = expected.get(m.group().casefold(), 0) + c
    assert runs == expected


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.text(alphabet=_ALPHABET, min_size=1, max_size=14), min_size=1, max_size=12),
       raw=st.lists(st.binary(min_size=1, max_size=6), max_size=3), data=st.data())
def test_rust_segments_equal_python_on_random_strings(texts, raw, small_model, data):
    counts = _core.WordCounts()
    for i, t in enumerate(texts):
        counts.add_piece(t, i + 1)
    for b in raw:
        counts.add_piece(b + b"walked\xff", 1)
    runs = sorted({m.group().casefold() for t in texts for m in _LETTERS.finditer(t)})
    gold = {}
    for run in runs:
        if data.draw(st.booleans()):  # cuts may fall past the run's end, as with ß -> ss in gold words
            gold[run] = sorted(set(data.draw(st.lists(st.integers(1, len(run) + 2), max_size=3))))
    model = small_model if data.draw(st.booleans()) else None
    assert _rust_segments(counts, gold, model) == _python_segments(counts, gold, model)
    expected: dict[str, int] = {}
    for piece, c in counts.items():
        for m in _LETTERS.finditer(bytes(piece).decode("utf-8", errors="ignore")):
            expected[m.group().casefold()] = expected.get(m.group().casefold(), 0) + c
    assert _core.letter_run_counts(counts, _letter_table(counts)) == expected


def test_morfessor_training_is_deterministic_and_viterbi_reuses_morphs(small_model):
    words = {w: 1 for w in ["walk", "walked", "walking", "talk", "talked", "talking", "kind", "unkind", "kindness"]}
    a, b = (_core.Morfessor.train(words, max_words=100, max_epochs=5, seed=3) for _ in range(2))
    assert a.morphs() == b.morphs() and a.costs == b.costs
    assert a.costs[-1] < a.costs[0] and len(a) == len(words)
    assert small_model.segment("walking") == ["walk", "ing"]
    assert small_model("jumping") == [4]  # an unseen word: the known suffix
    morphs, cost = small_model.viterbi_segment("talking")
    assert morphs == ["talk", "ing"] and cost > 0


def _boundary_f1(pred: list[list[int]], gold: list[list[int]]) -> float:
    hits = sum(len(set(p) & set(g)) for p, g in zip(pred, gold))
    precision, recall = hits / max(1, sum(map(len, pred))), hits / max(1, sum(map(len, gold)))
    return 2 * precision * recall / max(1e-9, precision + recall)


def test_morfessor_agrees_with_pypi_morfessor(tiny_data):
    """Same words, type counts, training to convergence: the same initial cost (the cost function), final
    costs within 2%, and comparable boundary F1 on the gold words (Viterbi segmentation of each)."""
    import morfessor  # the reference (scripts/setup.sh installs it); tokensmith itself does not need it
    from morfessor import utils as morfessor_utils

    text = (tiny_data / "english_bench" / "gutenberg_en_sample.txt").read_text(encoding="utf-8")
    runs: dict[str, int] = {}
    for m in _LETTERS.finditer(text):
        runs[m.group().casefold()] = runs.get(m.group().casefold(), 0) + 1
    top = sorted(runs.items(), key=lambda kv: (-kv[1], kv[0]))[:1000]
    ours = _core.Morfessor.train(dict(top), seed=0)
    morfessor_utils.show_progress_bar = False
    random.seed(0)
    ref = morfessor.BaselineModel()
    start = ref.load_data([(c, w) for w, c in top], count_modifier=lambda c: 1)
    _, final = ref.train_batch()
    assert ours.costs[0] == pytest.approx(start, rel=1e-9)
    assert ours.cost == pytest.approx(final, rel=0.02)
    gold = [(w.casefold(), surface_cuts(w, m)) for w, m in read_morphemes([tiny_data / "morphology" / "eng.tsv"]).values()
            if _LETTERS.fullmatch(w) and len(w.casefold()) == len(w)]
    gold_cuts = [g for _, g in gold]
    ours_f1 = _boundary_f1([ours(w) for w, _ in gold], gold_cuts)
    ref_f1 = _boundary_f1([surface_cuts(w, ref.viterbi_segment(w)[0]) for w, _ in gold], gold_cuts)
    assert ours_f1 > 0.15 and ref_f1 > 0.15  # 1,000 training words: both over-segment the gold words
    assert abs(ours_f1 - ref_f1) < 0.1, (ours_f1, ref_f1)


def test_fused_rust_training_equals_segments_then_train_bpe(lines, gold_file, capfd):
    """MorphBPE cuts and trains in one Rust call: the same merges as train_bpe on segmented_counts, and
    progress is reported as train_bpe reports it."""
    kw = dict(method="morphbpe", vocab_size=700, segmentations=[str(gold_file)], morfessor_words=800,
              morfessor_epochs=2)
    fused = tokensmith.train(lines, progress="json", **kw)
    events = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert events[-1] == {"event": "done", "merges_done": len(fused.merges)}
    config = MorphBpeConfig(vocab_size=700, segmentations=(str(gold_file),), morfessor_words=800, morfessor_epochs=2)
    words = segmented_counts(count_words(Corpus(lines), config), config)
    vocab, merges = _core.train_bpe(words, 700, min_frequency=config.min_frequency, progress="none")
    assert fused.merges == [tuple(m) for m in merges] and fused.vocab == {t: i for i, t in enumerate(vocab)}
    assert fused.config["segmented_words"] == sum(1 for segs, _ in words if len(segs) > 1) > 1000
    assert fused.config["words"] == len(words)
