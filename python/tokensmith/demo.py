"""``tokensmith demo``: train byte-level BPE at a few vocabulary sizes and report compression.

Corpus, found without network: the data kit (``shared/data``, searched upward from the working
directory and from the repository root) gives English books plus the training part of FLORES-200 for a
handful of languages, with FLORES held-out lines to evaluate on; without the kit, the Python standard
library's own sources (code, comments and docstrings) are the corpus.

``train_tokenizers()`` returns the trained tokenizers so other reports (the evaluation HTML report) can
build on the same run; ``run_demo()`` adds ``report.md`` and ``report.json``.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoCorpus", "DemoRun", "find_data_dir", "demo_corpus", "train_tokenizers", "evaluate",
           "write_report", "write_evaluation_report", "run_demo", "DEMO_LANGUAGES", "FULL_SIZES", "QUICK_SIZES"]

DEMO_LANGUAGES = ["eng_Latn", "deu_Latn", "rus_Cyrl", "hin_Deva", "tam_Taml", "arb_Arab", "zho_Hans", "jpn_Jpan"]
FULL_SIZES = (1000, 4000, 16000)
QUICK_SIZES = (1000, 4000)
FLORES_TRAIN_LINES = 600  # lines 1-600 train, 601-800 evaluate (priority languages have 800)


@dataclass
class DemoCorpus:
    """Training documents and held-out evaluation lines per language."""

    name: str
    train: list[str]
    eval_sets: dict[str, list[str]]
    description: str


@dataclass
class DemoRun:
    """What a demo run produced: the tokenizers by vocabulary size, timings and the metrics."""

    corpus: DemoCorpus
    tokenizers: dict[int, Any] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)
    count_seconds: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)


def find_data_dir(start: Path | None = None) -> Path | None:
    """``shared/data`` in an ancestor of ``start`` (default: the working directory) or of the repository."""
    roots = [Path(start) if start else Path.cwd(), Path(__file__).resolve().parents[2]]
    for root in roots:
        for folder in [root.resolve(), *root.resolve().parents]:
            candidate = folder / "shared" / "data"
            if (candidate / "multilingual" / "flores200_sib").is_dir():
                return candidate
    return None


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def demo_corpus(data_dir: Path | None, *, quick: bool = False) -> DemoCorpus:
    """The corpus the demo trains on (the data kit when given, else the Python standard library)."""
    if data_dir is not None:
        return _kit_corpus(data_dir, quick)
    return _stdlib_corpus(quick)


def _kit_corpus(data_dir: Path, quick: bool) -> DemoCorpus:
    from tokensmith.corpus import Corpus

    flores = data_dir / "multilingual" / "flores200_sib"
    budget = (2 << 20) if quick else (12 << 20)
    books = data_dir / "english_bench" / "gutenberg_en.txt.gz"
    if not books.is_file():
        books = data_dir / "tiny" / "english_bench" / "gutenberg_en_sample.txt"
    train = list(Corpus(books, max_bytes=budget)) if books.is_file() else []
    eval_sets: dict[str, list[str]] = {}
    for lang in DEMO_LANGUAGES:
        path = flores / f"{lang}.txt"
        if not path.is_file():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        train += [line for line in lines[:FLORES_TRAIN_LINES] if line.strip()]
        eval_sets[lang] = [line for line in lines[FLORES_TRAIN_LINES:] if line.strip()]
    return DemoCorpus(
        name="data kit", train=train, eval_sets=eval_sets,
        description=f"{budget >> 20} MiB of English books ({books.name}) plus FLORES-200 lines "
                    f"1-{FLORES_TRAIN_LINES} of {len(eval_sets)} languages; evaluated on FLORES lines "
                    f"{FLORES_TRAIN_LINES + 1}-800 (held out from training)")


def _stdlib_corpus(quick: bool) -> DemoCorpus:
    import ast

    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.glob("*.py"))
    budget = (1 << 20) if quick else (6 << 20)
    train: list[str] = []
    held_code: list[str] = []
    held_docs: list[str] = []
    size = 0
    for i, path in enumerate(files):
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if i % 10 == 0:  # every tenth module is held out for evaluation
            held_code += [line for line in source.splitlines() if line.strip()]
            try:
                tree = ast.parse(source)
                held_docs += [d for node in ast.walk(tree)
                              if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                              and (d := ast.get_docstring(node))]
            except SyntaxError:
                pass
            continue
        if size < budget:
            train.append(source)
            size += len(source)
    return DemoCorpus(
        name="python stdlib", train=train, eval_sets={"python_code": held_code[:4000],
                                                     "english_docstrings": held_docs[:2000]},
        description=f"{size >> 20} MiB of Python standard library sources from {lib} (no data kit found); "
                    "evaluated on every tenth module, held out")


def train_tokenizers(corpus: DemoCorpus, sizes: tuple[int, ...] = FULL_SIZES, *, progress: str = "none",
                     num_threads: int = 0) -> DemoRun:
    """Train byte-level BPE at each size on ``corpus.train``; the tokenizers are in ``run.tokenizers``.

    The corpus is counted once (``run.count_seconds``); ``run.seconds[size]`` is the merge training alone.
    """
    from tokensmith.config import BpeConfig
    from tokensmith.corpus import Corpus
    from tokensmith.methods.bpe import count_words, train_from_counts

    run = DemoRun(corpus=corpus)
    base = BpeConfig(vocab_size=max(sizes), pattern="o200k", special_tokens=("<|endoftext|>",),
                     progress=progress, num_threads=num_threads)
    start = time.perf_counter()
    counts = count_words(Corpus(corpus.train), base)
    run.count_seconds = time.perf_counter() - start
    print(f"demo: counted {len(counts):,} distinct words in {run.count_seconds:.1f} s", file=sys.stderr)
    for size in sizes:
        start = time.perf_counter()
        run.tokenizers[size] = train_from_counts(counts, base.replace(vocab_size=size))
        run.seconds[size] = time.perf_counter() - start
        print(f"demo: trained vocab {size:,} in {run.seconds[size]:.1f} s", file=sys.stderr)
    return run


def evaluate(run: DemoRun) -> dict[str, Any]:
    """Bytes per token for every size and evaluation set (higher is better compression)."""
    results: dict[str, Any] = {"count_seconds": round(run.count_seconds, 2), "sizes": {}}
    for size, tok in run.tokenizers.items():
        per_lang = {}
        total_bytes = total_tokens = 0
        for lang, lines in run.corpus.eval_sets.items():
            n_bytes = sum(len(line.encode("utf-8")) for line in lines)
            n_tokens = sum(len(ids) for ids in tok.encode_batch(lines))
            per_lang[lang] = {"bytes": n_bytes, "tokens": n_tokens,
                              "bytes_per_token": round(n_bytes / max(n_tokens, 1), 3)}
            total_bytes += n_bytes
            total_tokens += n_tokens
        results["sizes"][str(size)] = {
            "vocab_size": tok.vocab_size,
            "train_seconds": round(run.seconds.get(size, 0.0), 2),
            "bytes_per_token": round(total_bytes / max(total_tokens, 1), 3),
            "languages": per_lang,
        }
    run.metrics = results
    return results


def write_report(run: DemoRun, out: Path) -> tuple[Path, Path]:
    """``report.json`` and ``report.md`` in ``out`` (written atomically)."""
    from tokensmith import __version__
    from tokensmith._io import atomic_write

    metrics = run.metrics or evaluate(run)
    langs = list(run.corpus.eval_sets)
    payload = {"tokensmith": __version__, "corpus": run.corpus.description,
               "train_bytes": sum(len(t.encode("utf-8")) for t in run.corpus.train),
               "method": "bpe", "pattern": "o200k", **metrics}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "report.json") as f:
        json.dump(payload, f, ensure_ascii=False, indent=2)
        f.write("\n")
    lines = [
        "# tokensmith demo: byte-level BPE at several vocabulary sizes", "",
        f"Corpus: {run.corpus.description}.", f"Training text: {payload['train_bytes'] / 1e6:.1f} MB, "
        f"counted once in {metrics['count_seconds']:.1f} s; `train s` is the merge training alone. "
        "Pattern `o200k`, one special token. Bytes per token on held-out text: higher is better.", "",
        "| vocab | train s | all | " + " | ".join(langs) + " |",
        "|---:|---:|---:|" + "---:|" * len(langs),
    ]
    for size, row in metrics["sizes"].items():
        cells = " | ".join(f"{row['languages'][lang]['bytes_per_token']:.2f}" for lang in langs)
        lines.append(f"| {int(size):,} | {row['train_seconds']:.1f} | {row['bytes_per_token']:.2f} | {cells} |")
    lines += ["", "Reproduce: `tokensmith demo --out DIR` (`--quick` for a smaller run).", ""]
    with atomic_write(out / "report.md") as f:
        f.write("\n".join(lines))
    return out / "report.md", out / "report.json"


def run_demo(out: str | os.PathLike = "out/demo", *, quick: bool = False, save_tokenizers: bool = True,
             data_dir: Path | None = None) -> DemoRun:
    """Find a corpus, train at each size, evaluate, write the reports (and the tokenizers) into ``out``."""
    out = Path(out)
    data_dir = data_dir if data_dir is not None else find_data_dir()
    corpus = demo_corpus(data_dir, quick=quick)
    print(f"demo: corpus: {corpus.description}", file=sys.stderr)
    run = train_tokenizers(corpus, QUICK_SIZES if quick else FULL_SIZES)
    evaluate(run)
    if save_tokenizers:
        for size, tok in run.tokenizers.items():
            tok.save(out / f"bpe_{size}")
    write_report(run, out)
    write_evaluation_report(run, data_dir, out / "eval")
    return run


def write_evaluation_report(run: DemoRun, data_dir: Path | None, out: Path) -> Path:
    """The full evaluation report (JSON, Markdown, HTML with plots) of the demo's tokenizers.

    On the data kit: the demo languages plus the Indian languages of FLORES, on the lines the demo did not
    train on; without it: the CLDR strings that ``babel`` ships for the 22 official languages of India.
    """
    from tokensmith.evaluate.report import write_report as write_eval_report

    tokenizers = {f"bpe-{size // 1000}k": tok for size, tok in run.tokenizers.items()}
    flores = data_dir / "multilingual" / "flores200_sib" if data_dir else None
    languages = None
    if flores is not None:
        languages = list(dict.fromkeys(DEMO_LANGUAGES + _india_languages(flores)))
    write_eval_report(tokenizers, flores, out, baseline=next(iter(tokenizers)), languages=languages,
                      start_line=FLORES_TRAIN_LINES if flores is not None else 0, progress=False)
    print(f"demo: wrote {out}/report.html", file=sys.stderr)
    return out / "report.html"


def _india_languages(flores: Path) -> list[str]:
    """Codes marked ``india_8th_schedule`` in the kit's ``languages.tsv``."""
    table = flores / "languages.tsv"
    if not table.is_file():
        return []
    rows = [line.split("\t") for line in table.read_text(encoding="utf-8").splitlines()]
    header, body = rows[0], rows[1:]
    code, flag = header.index("code"), header.index("india_8th_schedule")
    return [row[code] for row in body if len(row) > flag and row[flag] == "yes"]
