"""Training time of each BPE-family method against plain BPE on the same corpus (and the Picky BPE
reference trainer, PyPI ``pickybpe-bauwenst`` 1.2.0, on the same words).

Targets: SuperBPE and MorphBPE ≤ 1.5× BPE, Picky ≤ 3× BPE, ≥ 50× faster than pickybpe-bauwenst at 8k on 5 MB.
Every method counts its own words (the times include counting); MorphBPE is timed with gold segmentations
only and with Morfessor on top. Each method runs ``--repeat`` times, the methods interleaved round by
round (so a slow spell of a shared machine hits all of them), after one untimed warm-up run of plain
BPE. The table gives the median and the range, the ratio of the medians to BPE's, the median of the
per-round ratios ("paired") and the ratio of the fastest runs ("best": noise on a shared machine only ever
adds time, so each method's fastest run is the closest to its own cost).

    python3 bench/bench_methods.py --mb 5 --vocab 8000 [--repeat 5] [--reference] [--threads 2]
        [--methods superbpe,morphbpe]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


GOLD = [str(DATA / "morphology" / "eng.tsv")]
# --methods name -> (table row, tokensmith.train arguments), timed in this order after plain BPE.
METHODS = {
    "picky": ("picky (τ=0.9)", dict(method="picky", threshold=0.9)),
    "superbpe": ("superbpe (t=0.9V)", dict(method="superbpe")),
    "morphbpe-gold": ("morphbpe (gold only)", dict(method="morphbpe", segmentations=GOLD, morfessor=False)),
    "morphbpe": ("morphbpe (gold + Morfessor 10k words)", dict(method="morphbpe", segmentations=GOLD)),
    "chars": ("chars (max 3 bytes)", dict(method="chars")),
    "domain": ("domain (KL3M recipe)", dict(method="domain")),
}


def corpus(mb: float) -> list[str]:
    out, seen = [], 0
    with gzip.open(DATA / "english_bench" / "gutenberg_en.txt.gz", "rt", encoding="utf-8") as f:
        for line in f:
            seen += len(line.encode())
            out.append(line.rstrip("\n"))
            if seen >= mb * 1e6:
                break
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def reference_picky(lines: list[str], vocab: int) -> float:
    import logging
    import tempfile

    from pickybpe.vocabularisation import PickyBPETrainer

    logging.getLogger("pickybpe").setLevel(logging.WARNING)
    counts: Counter = Counter()
    for line in lines:
        counts.update(line.split())
    trainer = PickyBPETrainer(vocab_size=vocab, picky_threshold=0.9, character_coverage=1.0)
    with tempfile.TemporaryDirectory() as tmp:
        return timed(lambda: trainer._fit_from_counts(counts, Path(tmp) / "m.json", logging_step=10**9))


def ours_picky_words(lines: list[str], vocab: int) -> float:
    """Our Picky trainer alone on the reference's words (whitespace split, a space-byte word marker)."""
    from tokensmith import _core

    counts: Counter = Counter()
    for line in lines:
        counts.update(line.split())
    wc = _core.WordCounts()
    for w, c in counts.items():
        wc.add_piece(" " + w, c)
    return timed(lambda: _core.train_picky(wc, vocab_size=vocab, threshold=0.9))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per method (median reported)")
    ap.add_argument("--reference", action="store_true", help="also time pickybpe-bauwenst (minutes)")
    ap.add_argument("--only-reference", action="store_true", help="only the Picky vs reference comparison")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated methods to time against BPE (default: all of {', '.join(METHODS)})")
    args = ap.parse_args()
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(wanted) - set(METHODS))
    if unknown:
        ap.error(f"--methods: unknown {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    sys.path.insert(0, str(ROOT / "python"))
    import tokensmith

    lines = corpus(args.mb)
    common = {"vocab_size": args.vocab, "progress": "none", "num_threads": args.threads}
    runs = {} if args.only_reference else {"bpe": dict(method="bpe")} | dict(v for m, v in METHODS.items() if m in wanted)
    if runs:
        tokensmith.train(lines, **common, method="bpe")  # warm-up: thread pool, page cache, imports
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name, kw in runs.items():
            times[name].append(timed(lambda kw=kw: tokensmith.train(lines, **common, **kw)))
    print(f"{args.mb} MB English, V = {args.vocab}, {args.threads} threads, median of {args.repeat} runs\n")
    if times:
        base = statistics.median(times["bpe"])
        best = min(times["bpe"])
        print("| method (counting + training) | seconds (median) | range | × BPE | × BPE, paired | × BPE, best |\n"
              "|---|---|---|---|---|---|")
        for name, runs_s in times.items():
            med = statistics.median(runs_s)
            # Each round times every method in turn, so a slow spell of the machine hits a round's runs
            # alike: the median of the per-round ratios is steadier than the ratio of the medians.
            paired = statistics.median(t / b for t, b in zip(runs_s, times["bpe"]))
            print(f"| {name} | {med:.2f} | {min(runs_s):.2f}–{max(runs_s):.2f} | {med / base:.2f} | {paired:.2f} "
                  f"| {min(runs_s) / best:.2f} |")
    if args.reference or args.only_reference:
        ours = ours_picky_words(lines, args.vocab)
        ref = reference_picky(lines, args.vocab)
        print("\n| Picky BPE training alone, same whitespace words, τ = 0.9 | seconds |\n|---|---|")
        print(f"| tokensmith | {ours:.2f} |\n| pickybpe-bauwenst 1.2.0 | {ref:.1f} |")
        print(f"\nOurs is {ref / ours:.0f}× faster than the reference.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
