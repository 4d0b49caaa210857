"""MorphBPE (Asgari et al., "MorphBPE: A Morpho-Aware Tokenizer Bridging Linguistic Complexity for
Efficient LLM Training Across Morphologies", 2025; no official code).

Differs from plain BPE only in training: each training word is cut at its morpheme boundaries into
segments that BPE never merges across (gold segmentations where given, Morfessor Baseline otherwise);
encoding is plain BPE, so the result is an ordinary byte-level BPE file.

Alignment rule (canonical gold such as ``ozonising -> ozone ise ing`` to surface cuts): a Levenshtein
alignment of the concatenated morphemes against the word (case-folded; ties prefer match/substitution,
then deleting morpheme characters, then inserting word characters); a boundary after morpheme
character p maps to the number of word characters aligned up to p. Cuts at 0 or at the word's end, and
repeated cuts, are dropped. ``ozonising`` gets ``ozon|is|ing``.
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from tokensmith.config import BpeConfig
from tokensmith.errors import ConfigError, CorpusError
from tokensmith.methods import register
from tokensmith.methods.bpe import build_tokenizer, count_words, progress_mode

if TYPE_CHECKING:  # pragma: no cover
    from tokensmith.corpus import Corpus
    from tokensmith.tokenizer import Tokenizer

__all__ = ["MorphBpeConfig", "train_morphbpe", "surface_cuts", "read_segmentations", "read_morphemes", "segment_piece",
           "train_morfessor"]

_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class MorphBpeConfig(BpeConfig):
    """MorphBPE: BPE whose training merges never cross a morpheme boundary."""

    segmentations: tuple[str, ...] = ()
    """Gold segmentation TSV files (header; word and morphemes columns, morphemes space-separated)."""
    word_column: str = "word"
    """Column of the TSV files holding the word."""
    morpheme_column: str = "morphemes"
    """Column of the TSV files holding the space-separated morphemes."""
    morfessor: bool = True
    """Segment words without gold with a Morfessor Baseline model trained on the corpus."""
    morfessor_words: int = 5000
    """Train Morfessor on this many of the most frequent corpus words (pure Python: keep it small)."""
    morfessor_epochs: int = 3
    """Morfessor batch-training epochs (a cap; it stops earlier when converged)."""

    def __post_init__(self) -> None:
        if isinstance(self.segmentations, str):
            object.__setattr__(self, "segmentations", (self.segmentations,))
        super().__post_init__()
        object.__setattr__(self, "segmentations", tuple(str(p) for p in self.segmentations))
        self._check_int("morfessor_words", minimum=1)
        self._check_int("morfessor_epochs", minimum=1)
        for path in self.segmentations:
            if not Path(path).is_file():
                raise ConfigError(f"segmentation file {path} does not exist; pass a word<TAB>morphemes TSV")


def surface_cuts(word: str, morphemes: Sequence[str]) -> list[int]:
    """Character offsets in ``word`` where a morpheme boundary falls (the module's alignment rule).

    >>> surface_cuts("ozonising", ["ozone", "ise", "ing"])
    [4, 6]
    >>> surface_cuts("walked", ["walk", "ed"])
    [4]
    """
    if "".join(morphemes) == word:  # surface segmentation: the cuts are the morpheme ends
        return [int(c) for c in itertools.accumulate(len(m) for m in morphemes[:-1]) if 0 < c < len(word)]
    src, dst = "".join(morphemes).casefold(), word.casefold()
    if len(dst) != len(word):  # case folding changed the length (ß -> ss): align the raw strings
        src, dst = "".join(morphemes), word
    n, m = len(src), len(dst)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dist[i][j] = min(dist[i - 1][j - 1] + (src[i - 1] != dst[j - 1]), dist[i - 1][j] + 1, dist[i][j - 1] + 1)
    aligned = [0] * (n + 1)  # aligned[p]: word characters consumed once p morpheme characters are
    i, j = n, m
    while i > 0:
        aligned[i] = j
        if j > 0 and dist[i][j] == dist[i - 1][j - 1] + (src[i - 1] != dst[j - 1]):
            i, j = i - 1, j - 1
        elif dist[i][j] == dist[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    cuts, pos = [], 0
    for morph in morphemes[:-1]:
        pos += len(morph)
        cut = aligned[pos]
        if 0 < cut < len(word) and (not cuts or cut > cuts[-1]):
            cuts.append(cut)
    return cuts


def read_segmentations(paths: Iterable[str | Path], word_column: str = "word",
                       morpheme_column: str = "morphemes") -> dict[str, list[int]]:
    """Gold files -> ``{casefolded word: surface cuts}`` (the first file that has a word wins)."""
    return {key: surface_cuts(word, morphs)
            for key, (word, morphs) in read_morphemes(paths, word_column, morpheme_column).items()}


def read_morphemes(paths: Iterable[str | Path], word_column: str = "word",
                   morpheme_column: str = "morphemes") -> dict[str, tuple[str, list[str]]]:
    """Gold files -> ``{casefolded word: (word, morphemes)}`` (the first file that has a word wins)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            if not reader.fieldnames or word_column not in reader.fieldnames or morpheme_column not in reader.fieldnames:
                raise CorpusError(f"{path} needs columns {word_column!r} and {morpheme_column!r}; has {reader.fieldnames}")
            for row in reader:
                word, morphs = row[word_column], (row[morpheme_column] or "").split()
                if word and morphs:
                    out.setdefault(word.casefold(), (word, morphs))
    return out


def train_morfessor(word_counts: Mapping[str, int], *, max_words: int, epochs: int, seed: int = 0) -> Callable[[str], list[int]]:
    """A Morfessor Baseline model on the most frequent words; returns ``word -> surface cuts``."""
    import random

    import morfessor
    from morfessor import utils as morfessor_utils

    morfessor_utils.show_progress_bar = False
    random.seed(seed)  # Morfessor's batch training shuffles with the global random module
    model = morfessor.BaselineModel()
    top = sorted(word_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_words]
    model.load_data([(count, word) for word, count in top], count_modifier=lambda c: 1)
    model.train_batch(max_epochs=epochs)
    cache: dict[str, list[int]] = {}

    def cuts(word: str) -> list[int]:
        if word not in cache:
            morphs, _ = model.viterbi_segment(word)
            cache[word] = surface_cuts(word, morphs)
        return cache[word]

    return cuts


def segment_piece(piece: str, lookup: Callable[[str], list[int] | None]) -> list[str]:
    """Cut a pretokenized piece inside each run of letters where ``lookup(run)`` puts morpheme boundaries.

    >>> segment_piece(" walked,", {"walked": [4]}.get)
    [' walk', 'ed,']
    """
    cuts: list[int] = []
    for m in _LETTERS.finditer(piece):
        for c in lookup(m.group().casefold()) or ():
            cuts.append(m.start() + c)
    if not cuts:
        return [piece]
    bounds = [0, *sorted(set(cuts)), len(piece)]
    return [piece[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def _letter_run_counts(counts) -> dict[str, int]:
    runs: dict[str, int] = {}
    for raw, c in counts.items():
        for m in _LETTERS.finditer(bytes(raw).decode("utf-8", errors="ignore")):
            w = m.group().casefold()
            runs[w] = runs.get(w, 0) + c
    return runs


def segmented_counts(counts, config: MorphBpeConfig) -> list[tuple[list[bytes], int]]:
    """Word counts -> (segments, count) for the trainer, each word cut by gold or Morfessor boundaries."""
    gold = read_morphemes(config.segmentations, config.word_column, config.morpheme_column)
    gold_cuts: dict[str, list[int]] = {}  # aligned on first use: most gold words are not in the corpus
    unsup = None
    if config.morfessor:
        unsup = train_morfessor(_letter_run_counts(counts), max_words=config.morfessor_words,
                                epochs=config.morfessor_epochs, seed=config.seed)

    def lookup(run: str) -> list[int] | None:
        if run in gold:
            if run not in gold_cuts:
                gold_cuts[run] = surface_cuts(*gold[run])
            return gold_cuts[run]
        return unsup(run) if unsup is not None else None

    out = []
    for raw, c in counts.items():
        raw = bytes(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            out.append(([raw], c))
            continue
        out.append(([s.encode("utf-8") for s in segment_piece(text, lookup)], c))
    return out


@register("morphbpe", config=MorphBpeConfig)
def train_morphbpe(corpus: "Corpus", config: MorphBpeConfig) -> "Tokenizer":
    """MorphBPE: BPE whose training merges never cross gold or Morfessor morpheme boundaries."""
    from tokensmith import _core

    words = segmented_counts(count_words(corpus, config), config)
    vocab, merges = _core.train_bpe(
        words, config.vocab_size, min_frequency=config.min_frequency, max_token_length=config.max_token_length,
        special_tokens=list(config.special_tokens), progress=progress_mode(config), num_threads=config.num_threads)
    cut = sum(1 for segs, _ in words if len(segs) > 1)
    return build_tokenizer(vocab, merges, config, extra={"segmented_words": cut, "words": len(words)})
