"""Compare two builds of ``tokensmith._core`` on SuperBPE (or plain BPE) in one process, their calls
alternating.

Both ``.so`` files are loaded side by side (each under its own module name, with its own thread pools);
each round calls ``train_superbpe`` (``--method bpe``: ``train_bpe`` on the GPT-2 words) once with each
build, in alternating order, on the same listed (counted) corpus. Steadier than separate processes for
changes of a few percent: two copies of the same build read 1.00–1.02. Prints the medians, their ratio,
and the median of the per-round ratios.

    python3 bench/ab_calls.py OLD.so NEW.so [--mb 42] [--vocab 32000] [--transition 28800] [--rounds 8]
                                              [--method superbpe|bpe] [--with-counting]

Keep a build with ``cp python/tokensmith/_core.abi3.so /tmp/old.so`` before rebuilding.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_methods import corpus  # noqa: E402


def load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(f"{name}._core", path)
    if not Path(path).is_file() or spec is None or spec.loader is None:
        raise SystemExit(f"ab_calls: cannot load {path}; pass a built _core .so file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as e:
        raise SystemExit(f"ab_calls: {path} is not a loadable tokensmith._core build ({e})") from None
    return module


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--mb", type=float, default=42.0)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--transition", type=int, default=None, help="default: 0.9 × vocab")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--method", choices=["superbpe", "bpe"], default="superbpe")
    ap.add_argument("--with-counting", action="store_true",
                    help="time the listing (counting, for bpe) of the corpus too, as training from text does")
    args = ap.parse_args()
    t = args.transition or int(0.9 * args.vocab)
    builds = [load(args.old, "ab_old"), load(args.new, "ab_new")]
    lines = corpus(args.mb)

    def listing(core):
        if args.method == "bpe":
            pieces = core.WordCounts()
            pieces.add_texts(lines, "gpt2", "none", args.threads)
        else:
            pieces = core.PieceList()
            pieces.add_texts(lines, "superbpe_stage2", "none", args.threads)
        return pieces

    def train(core, pieces):
        if args.method == "bpe":
            core.train_bpe(pieces, args.vocab, num_threads=args.threads)
        else:
            core.train_superbpe(None, pieces, args.vocab, t, "superbpe_stage1", num_threads=args.threads)

    # Listed once here, unless each round lists (counts) the corpus itself.
    listed = [None, None] if args.with_counting else [listing(core) for core in builds]
    times: list[list[float]] = [[], []]
    for r in range(args.rounds):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            train(builds[k], listing(builds[k]) if args.with_counting else listed[k])
            times[k].append(time.perf_counter() - start)
    old, new = (statistics.median(ts) for ts in times)
    paired = statistics.median(b / a for a, b in zip(*times))
    what = args.method + (" with counting" if args.with_counting else "")
    print(f"{what}, {args.mb} MB, V = {args.vocab}, t = {t}, {args.rounds} rounds: old {old:.3f} s, "
          f"new {new:.3f} s, new/old {new / old:.3f}, paired {paired:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
