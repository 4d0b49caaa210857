"""Pretokenize-and-count throughput (MB/s) of tokensmith's scanners against peers.

Counts the pieces of the English benchmark corpus (``english_bench/gutenberg_en.txt.gz``, 42 MB):
tokensmith (hand-written scanner, and the same regex on fancy-regex) with 1 and 2 threads, Python
``regex`` + ``collections.Counter``, and HF ``tokenizers`` (Split pre-tokenizer + Counter). The slow peers
run on a prefix (``--peer-mb``). Wall and CPU throughput are both printed: on a shared machine the CPU
column is the one to compare.

    python3 bench/bench_pretokenize.py [--pattern gpt2] [--mb 0] [--peer-mb 4] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "english_bench" / "gutenberg_en.txt.gz"


def load(mb: float) -> str:
    text = gzip.open(CORPUS, "rt", encoding="utf-8").read()
    if mb > 0:
        cut = text.find("\n", int(mb * 1e6))
        text = text[: cut + 1] if cut > 0 else text
    return text


def timed(fn) -> tuple[tuple[float, float], object]:
    """((wall seconds, CPU seconds of this process), result). CPU time shows the work itself when
    other jobs share the machine; with n threads it sums over the threads."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - start, time.process_time() - cpu), out


def report(label: str, nbytes: int, seconds: tuple[float, float], pieces: int) -> None:
    wall, cpu = seconds
    mb = nbytes / 1e6
    print(f"{label:<44} {mb:6.1f} MB  wall {wall:6.2f} s {mb / wall:7.1f} MB/s"
          f"  cpu {cpu:6.2f} s {mb / max(cpu, 1e-9):7.1f} MB/s  {pieces:>11,} pieces")


def main() -> None:
    from tokensmith import _core
    from tokensmith.pretokenize import PATTERNS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pattern", default="gpt2", choices=[p for p in PATTERNS if p != "none"])
    ap.add_argument("--mb", type=float, default=0, help="use only this many MB of the corpus (0: all)")
    ap.add_argument("--peer-mb", type=float, default=4, help="MB given to the slow peers")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--lines", action="store_true", help="pass the corpus as a list of lines, not one string")
    args = ap.parse_args()

    text = load(args.mb)
    nbytes = len(text.encode("utf-8"))
    texts = text.splitlines(keepends=True) if args.lines else [text]
    for threads in args.threads:
        sec, counts = timed(lambda: _core.WordCounts.count_texts(texts, args.pattern, "none", threads))
        report(f"tokensmith scanner {args.pattern} ({threads} thr)", nbytes, sec, counts.total())
    regex_text = PATTERNS[args.pattern]
    peer_text = load(args.peer_mb)
    peer_bytes = len(peer_text.encode("utf-8"))
    ref = _core.Pretokenizer.from_regex(regex_text)
    sec, pieces = timed(lambda: collections.Counter(ref.split(peer_text)))
    report(f"fancy-regex (tiktoken's engine) {args.pattern}", peer_bytes, sec, sum(pieces.values()))
    import regex

    compiled = regex.compile(regex_text)
    sec, pieces = timed(lambda: collections.Counter(compiled.findall(peer_text)))
    report(f"python regex findall {args.pattern}", peer_bytes, sec, sum(pieces.values()))
    try:
        from tokenizers import Regex, pre_tokenizers
    except ImportError:  # pragma: no cover - optional peer
        return
    split = pre_tokenizers.Split(Regex(regex_text), behavior="isolated")
    lines = peer_text.splitlines(keepends=True)
    sec, pieces = timed(lambda: collections.Counter(p for line in lines for p, _ in split.pre_tokenize_str(line)))
    report(f"HF tokenizers Split {args.pattern} (per line)", peer_bytes, sec, sum(pieces.values()))


if __name__ == "__main__":
    main()
