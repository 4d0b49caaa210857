"""Compare two builds of ``tokensmith._core`` in alternating processes, on the same corpus and minutes.

On a shared machine the same build's SuperBPE/BPE ratio moves by ±0.2 from run to run, so a change is
judged against the build before it, alternating processes (A, B, A, B, ...), each timing every method
``--repeat`` times after a warm-up. Each process installs its build by copying the ``.so`` over the
package's ``_core`` (the original is put back at the end).

    python3 bench/ab_builds.py OLD.so NEW.so [--mb 5] [--vocab 8000] [--rounds 3] [--repeat 5]
        [--methods bpe superbpe]

Keep a build with ``cp python/tokensmith/_core.abi3.so /tmp/old.so`` before rebuilding.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "python" / "tokensmith" / "_core.abi3.so"

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {bench!r})
from bench_methods import corpus
import tokensmith
lines = corpus({mb})
common = {{"vocab_size": {vocab}, "progress": "none", "num_threads": {threads}}}
tokensmith.train(lines, **common, method="bpe")
times = {{m: [] for m in {methods!r}}}
for _ in range({repeat}):
    for m in times:
        start = time.perf_counter()
        tokensmith.train(lines, **common, method=m)
        times[m].append(time.perf_counter() - start)
print(json.dumps({{m: statistics.median(t) for m, t in times.items()}}))
"""


def run_child(args: argparse.Namespace) -> dict[str, float]:
    code = CHILD.format(bench=str(ROOT / "bench"), mb=args.mb, vocab=args.vocab, threads=args.threads,
                        methods=args.methods, repeat=args.repeat)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the build to compare against (a copy of _core.abi3.so)")
    ap.add_argument("new", type=Path)
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="alternations (one process per build each)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per method in each process")
    ap.add_argument("--methods", nargs="+", default=["bpe", "superbpe"])
    args = ap.parse_args()
    for build in (args.old, args.new):
        if not build.is_file():
            print(f"error: {build} is not a file; keep a build with cp {CORE} /tmp/old.so", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp:
        original = Path(tmp) / "original.so"
        shutil.copy2(CORE, original)
        try:
            rows = []
            for round_ in range(1, args.rounds + 1):
                for name, build in (("old", args.old), ("new", args.new)):
                    shutil.copy2(build, CORE)
                    rows.append((round_, name, run_child(args)))
        finally:
            shutil.copy2(original, CORE)
    base = args.methods[0]
    print(f"{args.mb} MB English, V = {args.vocab}, {args.threads} threads; medians of {args.repeat} runs\n")
    print("| round | build | " + " | ".join(f"{m} s" for m in args.methods) + f" | × {base} |")
    print("|---" * (len(args.methods) + 3) + "|")
    for round_, name, medians in rows:
        ratios = ", ".join(f"{medians[m] / medians[base]:.2f}" for m in args.methods[1:])
        cells = " | ".join(f"{medians[m]:.3f}" for m in args.methods)
        print(f"| {round_} | {name} | {cells} | {ratios} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
