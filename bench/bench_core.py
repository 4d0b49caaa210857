"""Core benchmark: BPE training and encoding, tokensmith against its peers, in one run.

Every measurement runs in its own subprocess, so peak RSS (from `wait4`) belongs to that job alone and
thread settings (`RAYON_NUM_THREADS`) are fixed before the library loads. Results go to
`docs/benchmarks.md` (Markdown) and `bench/results/core.json`.

    python bench/bench_core.py                    # full run: 8k/32k/64k on the 42 MB corpus
    python bench/bench_core.py --quick            # 4 MB prefix, 8k only: a smoke test

Training peers: Hugging Face `tokenizers` (ByteLevel BPE), `sentencepiece` (BPE), `youtokentome`, `bpeasy`.
Encoding peers: `tiktoken`, `tokenizers`, `rs-bpe` (cl100k/o200k only: it ships those two).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CORPUS_GZ = DATA / "english_bench" / "gutenberg_en.txt.gz"
HELD_OUT = [DATA / "english_variants" / "british_text.txt", DATA / "english_variants" / "american_text.txt"]
WORK = Path(tempfile.gettempdir()) / "tokensmith-bench"
TOK = DATA / "tokenizers"

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
REAL_ENCODINGS = {  # name -> (rank file, tokensmith pattern name)
    "cl100k_base": (TOK / "openai_cl100k_base" / "cl100k_base.tiktoken", "cl100k"),
    "o200k_base": (TOK / "openai_o200k_base" / "o200k_base.tiktoken", "o200k"),
    "llama3": (TOK / "llama3" / "tokenizer.model", "llama3"),
}
TRAIN_TOOLS = ["tokensmith", "tokenizers", "sentencepiece", "youtokentome", "bpeasy"]
ENCODE_TOOLS = ["tokensmith", "tokensmith-flat", "tiktoken", "tokenizers", "rs-bpe"]


# ---------------------------------------------------------------- corpus preparation (parent)

def prepare_corpus(max_bytes: int | None) -> Path:
    """Decompress the benchmark corpus once (optionally a prefix) so every tool reads the same file."""
    WORK.mkdir(parents=True, exist_ok=True)
    name = f"gutenberg_en_{max_bytes or 'all'}.txt"
    path = WORK / name
    if not path.exists():
        data = gzip.open(CORPUS_GZ, "rb").read()
        if max_bytes:
            data = data[:max_bytes]
            data = data[: data.rfind(b"\n") + 1]
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


def held_out_text() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in HELD_OUT)


def chunks_of(text: str, size: int = 1 << 16) -> list[str]:
    """Split on line boundaries into ~64 KB documents (the unit every encoder gets)."""
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + size)
        end = len(text) if end < 0 else end + 1
        out.append(text[start:end])
        start = end
    return out


# ---------------------------------------------------------------- training jobs (child)

def train_tokensmith(corpus: Path, vocab: int, threads: int, out: Path):
    import tokensmith

    tok = tokensmith.train(Path(corpus), method="bpe", vocab_size=vocab, pattern="gpt2",
                           num_threads=threads, progress="none")
    return lambda text: len(tok.encode(text, disallowed_special=()))


def train_tokenizers(corpus: Path, vocab: int, threads: int, out: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(corpus)], trainer)
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def train_sentencepiece(corpus: Path, vocab: int, threads: int, out: Path):
    import sentencepiece as spm

    prefix = out / "spm"
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(prefix), model_type="bpe",
                                   vocab_size=vocab, num_threads=threads, byte_fallback=True,
                                   minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
    return lambda text: len(sp.encode(text))


def train_youtokentome(corpus: Path, vocab: int, threads: int, out: Path):
    import youtokentome as yttm

    model = out / "yttm.model"
    yttm.BPE.train(data=str(corpus), model=str(model), vocab_size=vocab, n_threads=threads)
    bpe = yttm.BPE(model=str(model), n_threads=threads)
    return lambda text: sum(len(x) for x in bpe.encode(text.split("\n")))


def train_bpeasy(corpus: Path, vocab: int, threads: int, out: Path):
    import bpeasy

    def lines():
        with open(corpus, encoding="utf-8") as handle:
            yield from handle

    ranks = bpeasy.train_bpe(lines(), GPT2_PATTERN, 128, vocab)
    import tiktoken

    enc = tiktoken.Encoding("bpeasy", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})
    return lambda text: len(enc.encode_ordinary(text))


TRAINERS = {"tokensmith": train_tokensmith, "tokenizers": train_tokenizers,
            "sentencepiece": train_sentencepiece, "youtokentome": train_youtokentome,
            "bpeasy": train_bpeasy}


def run_train_job(job: dict) -> dict:
    corpus = Path(job["corpus"])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        count_tokens = TRAINERS[job["tool"]](corpus, job["vocab"], job["threads"], Path(tmp))
        seconds = time.perf_counter() - start
        text = held_out_text()
        tokens = count_tokens(text)
    return {"seconds": seconds, "held_out_bytes_per_token": len(text.encode()) / tokens}


# ---------------------------------------------------------------- encoding jobs (child)

def load_encoder(tool: str, encoding: str, threads: int, trained_dir: str | None):
    """Return (encode_one(text) -> n_tokens, encode_batch(texts) -> n_tokens) for a tool/encoding."""
    import tokensmith

    if encoding == "trained_32k":
        ours = tokensmith.load(trained_dir)
    else:
        path, pattern = REAL_ENCODINGS[encoding]
        ours = tokensmith.load(str(path), pattern=pattern)
    if tool == "tokensmith":
        return (lambda t: len(ours.encode(t, disallowed_special=())),
                lambda ts: sum(map(len, ours.encode_batch(ts, num_threads=threads))))
    if tool == "tokensmith-flat":  # ids as one array: no Python int per id
        return (lambda t: len(ours.encode(t, disallowed_special=())),
                lambda ts: len(ours.encode_batch_flat(ts, num_threads=threads)[0]))
    if tool == "tiktoken":
        enc = ours.to_tiktoken()
        return (lambda t: len(enc.encode_ordinary(t)),
                lambda ts: sum(map(len, enc.encode_ordinary_batch(ts, num_threads=threads))))
    if tool == "tokenizers":
        from tokenizers import Tokenizer

        hf = ours.to_hf()
        return (lambda t: len(hf.encode(t, add_special_tokens=False).ids),
                lambda ts: sum(len(e.ids) for e in hf.encode_batch(ts, add_special_tokens=False)))
    if tool == "rs-bpe":
        from rs_bpe.bpe import openai

        rs = {"cl100k_base": openai.cl100k_base, "o200k_base": openai.o200k_base}[encoding]()
        options = openai.ParallelOptions(1, 1, threads)  # min_batch_size, chunk_size, max_threads

        def batch(ts):
            return sum(map(len, rs.encode_batch_parallel(ts, options)[0] if threads > 1 else rs.encode_batch(ts)))

        return (lambda t: len(rs.encode(t)), batch)
    raise ValueError(tool)


def run_encode_job(job: dict) -> dict:
    text = Path(job["corpus"]).read_text(encoding="utf-8")
    docs = chunks_of(text)
    encode_one, encode_batch = load_encoder(job["tool"], job["encoding"], job["threads"], job.get("trained_dir"))
    start = time.perf_counter()
    if job["threads"] == 1:
        tokens = sum(encode_one(d) for d in docs)
    else:
        tokens = encode_batch(docs)
    seconds = time.perf_counter() - start
    n_bytes = len(text.encode())
    return {"seconds": seconds, "mb_per_s": n_bytes / seconds / 1e6, "bytes_per_token": n_bytes / tokens,
            "tokens": tokens}


# ---------------------------------------------------------------- orchestration (parent)

def run_in_subprocess(job: dict) -> dict:
    """Run one job in a fresh interpreter; return its result plus wall time and peak RSS."""
    env = dict(os.environ, RAYON_NUM_THREADS=str(job["threads"]), OMP_NUM_THREADS=str(job["threads"]),
               TOKENIZERS_PARALLELISM="true" if job["threads"] > 1 else "false")
    with tempfile.NamedTemporaryFile("r", suffix=".json") as result:
        proc = subprocess.Popen([sys.executable, __file__, "--job", json.dumps(job), "--result", result.name],
                                env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        record = dict(job, peak_rss_mb=usage.ru_maxrss / 1024)
        if proc.returncode != 0:
            return dict(record, error=f"exit {proc.returncode}")
        record.update(json.loads(Path(result.name).read_text() or "{}"))
        return record


def ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value and base else "–"


def train_table(results: list[dict], sizes: list[int]) -> list[str]:
    lines = ["| vocab | tool | seconds | vs tokenizers | peak RSS (MB) | held-out bytes/token |",
             "|---:|---|---:|---:|---:|---:|"]
    for vocab in sizes:
        rows = [r for r in results if r["kind"] == "train" and r["vocab"] == vocab]
        base = next((r.get("seconds") for r in rows if r["tool"] == "tokenizers"), None)
        for r in rows:
            if "error" in r:
                lines.append(f"| {vocab} | {r['tool']} | failed ({r['error']}) | | | |")
                continue
            lines.append(f"| {vocab} | {r['tool']} | {r['seconds']:.1f} | {ratio(r['seconds'], base)} | "
                         f"{r['peak_rss_mb']:.0f} | {r['held_out_bytes_per_token']:.3f} |")
    return lines


def encode_table(results: list[dict]) -> list[str]:
    lines = ["| encoding | threads | tool | MB/s | vs tiktoken | peak RSS (MB) | bytes/token |",
             "|---|---:|---|---:|---:|---:|---:|"]
    rows = [r for r in results if r["kind"] == "encode"]
    for key in dict.fromkeys((r["encoding"], r["threads"]) for r in rows):
        group = [r for r in rows if (r["encoding"], r["threads"]) == key]
        base = next((r.get("mb_per_s") for r in group if r["tool"] == "tiktoken"), None)
        for r in group:
            if "error" in r:
                lines.append(f"| {key[0]} | {key[1]} | {r['tool']} | failed ({r['error']}) | | | |")
                continue
            lines.append(f"| {key[0]} | {key[1]} | {r['tool']} | {r['mb_per_s']:.2f} | "
                         f"{ratio(r['mb_per_s'], base)} | {r['peak_rss_mb']:.0f} | {r['bytes_per_token']:.3f} |")
    return lines


def plan(corpus: Path, sizes: list[int], threads: int, trained_dir: Path) -> list[dict]:
    jobs = [{"kind": "train", "tool": t, "vocab": v, "threads": threads, "corpus": str(corpus)}
            for v in sizes for t in TRAIN_TOOLS]
    encodings = ["trained_32k", *REAL_ENCODINGS]
    for encoding in encodings:
        for n in sorted({1, threads}):
            for tool in ENCODE_TOOLS:
                if tool == "rs-bpe" and encoding not in ("cl100k_base", "o200k_base"):
                    continue
                if tool == "tokensmith-flat" and n == 1:  # one thread encodes text by text either way
                    continue
                jobs.append({"kind": "encode", "tool": tool, "encoding": encoding, "threads": n,
                             "corpus": str(corpus), "trained_dir": str(trained_dir)})
    return jobs


def train_reference_tokenizer(corpus: Path, threads: int) -> Path:
    """The 32k tokensmith tokenizer whose merges every encoder is given for `trained_32k`."""
    import tokensmith

    out = WORK / "trained_32k"
    if not (out / "tokenizer.json").exists():
        tokensmith.train(Path(corpus), method="bpe", vocab_size=32000, pattern="gpt2",
                         num_threads=threads, progress="none").save(out)
    return out


def write_markdown(results: list[dict], sizes: list[int], args, corpus: Path, out: Path) -> None:
    cmd = "python bench/bench_core.py " + " ".join(sys.argv[1:])
    lines = ["# Benchmarks", "",
             f"Command: `{cmd.strip()}` (machine: {os.cpu_count()} cores; threads = {args.threads}).", "",
             f"Corpus: `{corpus.name}` ({corpus.stat().st_size / 1e6:.1f} MB). Held-out text for "
             "bytes/token: `english_variants/{british,american}_text.txt` (not in the corpus).", "",
             "Each row is one fresh process; peak RSS is that process's maximum resident set.", "",
             "## Training (GPT-2 pattern where the tool takes one)", "", *train_table(results, sizes), "",
             "## Encoding (the whole corpus in ~64 KB documents)", "",
             "`trained_32k`: tokensmith's 32k vocabulary trained above, given to every tool "
             "(tiktoken via `Tokenizer.to_tiktoken()`, tokenizers via `Tokenizer.to_hf()`). "
             "Real encodings are loaded by tokensmith from the same rank file tiktoken reads. "
             "rs-bpe ships only cl100k/o200k.", "", *encode_table(results), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 MB prefix, 8k vocabulary only")
    parser.add_argument("--sizes", default="8000,32000,64000")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", choices=["train", "encode"], help="run one half of the benchmark")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        job = json.loads(args.job)
        result = run_train_job(job) if job["kind"] == "train" else run_encode_job(job)
        Path(args.result).write_text(json.dumps(result))
        return 0
    sizes = [8000] if args.quick else [int(s) for s in args.sizes.split(",")]
    corpus = prepare_corpus(4_000_000 if args.quick else None)
    trained = train_reference_tokenizer(corpus, args.threads)
    jobs = [j for j in plan(corpus, sizes, args.threads, trained) if not args.only or j["kind"] == args.only]
    results = []
    for job in jobs:
        record = run_in_subprocess(job)
        print(json.dumps({k: v for k, v in record.items() if k not in ("corpus", "trained_dir")}),
              file=sys.stderr, flush=True)
        results.append(record)
    (REPO / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (REPO / "bench" / "results" / "core.json").write_text(json.dumps(results, indent=1))
    write_markdown(results, sizes, args, corpus, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
