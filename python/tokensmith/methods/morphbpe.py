"""MorphBPE (Asgari et al., "MorphBPE: A Morpho-Aware Tokenizer Bridging Linguistic Complexity for
Efficient LLM Training Across Morphologies", 2025; no official code).

Differs from plain BPE only in training: each training word is cut at its morpheme boundaries into
segments that BPE never merges across (gold segmentations where given, Morfessor Baseline otherwise);
encoding is plain BPE, so the result is an ordinary byte-level BPE file.

Morfessor Baseline (Creutz & Lagus, "Unsupervised models for morpheme segmentation and morphology
learning", ACM TSLP 2007; Morfessor 2.0, Virpioja et al., 2013) runs in Rust (``_core.Morfessor``, the
cost and recursive batch training of Morfessor 2.0's ``BaselineModel`` with type counts), trained on the
corpus's most frequent letter runs; the cutting of every counted piece is in Rust too (``segment_piece``
is its Python reference).

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
from concurrent.futures import ThreadPoolExecutor
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
    morfessor_words: int = 10000
    """Train Morfessor on this many of the most frequent corpus words (case-folded letter runs)."""
    morfessor_epochs: int = 2
    """Morfessor batch-training epochs, a cap (it stops earlier when converged; the third epoch lowers the
    cost about 1% and leaves boundary F1 unchanged, so 2 buys more words in the same time)."""

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
            # csv.reader by column index reads as csv.DictReader does (last duplicate header wins, empty
            # rows skipped, short rows give no value) at half the cost.
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, [])
            if word_column not in header or morpheme_column not in header:
                raise CorpusError(f"{path} needs columns {word_column!r} and {morpheme_column!r}; has {header or None}")
            wi = len(header) - 1 - header[::-1].index(word_column)
            mi = len(header) - 1 - header[::-1].index(morpheme_column)
            for row in reader:
                if len(row) <= wi or len(row) <= mi:
                    continue
                word, morphs = row[wi], row[mi].split()
                if word and morphs:
                    out.setdefault(word.casefold(), (word, morphs))
    return out


def train_morfessor(word_counts: Mapping[str, int], *, max_words: int, epochs: int | None,
                    seed: int = 0) -> Callable[[str], list[int]]:
    """A Morfessor Baseline model on the ``max_words`` most frequent words (ties by word), one count per
    word type; returns the model, which is also ``word -> surface cuts`` (its Viterbi segmentation).

    >>> cuts = train_morfessor({"walk": 5, "walked": 3, "talk": 2, "talked": 2}, max_words=10, epochs=5)
    >>> cuts("walked"), cuts("talk")
    ([4], [])
    """
    from tokensmith import _core

    return _core.Morfessor.train(word_counts, max_words=max_words, max_epochs=epochs, seed=seed)


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


def _letter_table(counts, num_threads: int = 0) -> dict[str, str]:
    """Non-ASCII letters of the counted pieces -> case fold: Python's own ``_LETTERS`` and ``casefold``
    for the Rust side (which knows ASCII)."""
    from tokensmith import _core

    return {ch: ch.casefold() for ch in _core.morph_chars(counts, num_threads=num_threads) if _LETTERS.fullmatch(ch)}


def _segmenter(counts, config: MorphBpeConfig) -> tuple[dict[str, str], dict[str, list[int]], object]:
    """What the Rust cutter needs: the non-ASCII letters, the gold cuts of the corpus's gold words and the
    Morfessor model (None when off)."""
    from tokensmith import _core

    threads = config.num_threads
    letters = _letter_table(counts, threads)
    if not (config.segmentations or config.morfessor):
        return letters, {}, None
    runs = _core.letter_run_counts(counts, letters, num_threads=threads)
    # Morfessor trains on one core (it releases the GIL) while the gold files are read and aligned.
    with ThreadPoolExecutor(max_workers=1) as pool:
        unsup = pool.submit(train_morfessor, runs, max_words=config.morfessor_words, epochs=config.morfessor_epochs,
                            seed=config.seed) if config.morfessor else None
        gold = read_morphemes(config.segmentations, config.word_column, config.morpheme_column)
        # Aligned only for gold words in the corpus: most gold words are not.
        gold_cuts = {run: surface_cuts(*gold[run]) for run in gold.keys() & runs.keys()}
        return letters, gold_cuts, unsup.result() if unsup else None


def segmented_counts(counts, config: MorphBpeConfig) -> list[tuple[list[bytes], int]]:
    """Word counts -> (segments, count) for the trainer, each word cut by gold or Morfessor boundaries.

    Equal to ``segment_piece`` on every piece that is valid UTF-8 (others stay whole), with gold looked
    up first and Morfessor's Viterbi cuts otherwise; most frequent first.
    """
    from tokensmith import _core

    letters, gold_cuts, unsup = _segmenter(counts, config)
    return _core.morph_segment(counts, letters, gold_cuts, unsup, num_threads=config.num_threads)


@register("morphbpe", config=MorphBpeConfig)
def train_morphbpe(corpus: "Corpus", config: MorphBpeConfig) -> "Tokenizer":
    """MorphBPE: BPE whose training merges never cross gold or Morfessor morpheme boundaries."""
    from tokensmith import _core

    counts = count_words(corpus, config)
    letters, gold_cuts, unsup = _segmenter(counts, config)
    # Cut and train in one Rust call: the same merges as train_bpe(segmented_counts(...)), no segment list in Python.
    vocab, merges, cut, total = _core.train_morph_bpe(
        counts, config.vocab_size, letters, gold_cuts, unsup, min_frequency=config.min_frequency,
        max_token_length=config.max_token_length, special_tokens=list(config.special_tokens),
        progress=progress_mode(config), num_threads=config.num_threads)
    return build_tokenizer(vocab, merges, config, extra={"segmented_words": cut, "words": total})
