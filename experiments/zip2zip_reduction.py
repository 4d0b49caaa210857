"""zip2zip sequence-length reduction on every domain and language of the data kit.

Each corpus is tokenized (cl100k by default); each document's token stream (or, with --pack, the
whole corpus joined by newlines) is cut into context windows of at most W base tokens (default 1024),
and each window is LZW-compressed with its own codebook. Reduction = 1 - codes / base tokens. FLORES sentences of one language are
concatenated in file order (with a newline) before windowing.

    python3 experiments/zip2zip_reduction.py --out /tmp/zip2zip_reduction.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def windows(seqs, w):
    out = []
    for s in seqs:
        out += [s[i:i + w] for i in range(0, len(s), w)]
    return [x for x in out if x]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=str(DATA / "tokenizers/openai_cl100k_base/cl100k_base.tiktoken"))
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--out", default="/tmp/zip2zip_reduction.json")
    ap.add_argument("--pack", action="store_true", help="join each corpus's documents (newline) before windowing")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "python"))
    from tokensmith.adapt import lzw
    from tokensmith.evaluate.loaders import load_tokenizer

    tok = load_tokenizer(args.tokenizer)
    settings = [(1024, 3), (2048, 4), (1024, 2)]
    rows = []
    t0 = time.time()

    def measure(kind, name, texts):
        seqs = windows(tok.encode_batch(["\n".join(texts)] if args.pack else texts), args.window)
        row = {"kind": kind, "name": name, "windows": len(seqs), "base_tokens": sum(map(len, seqs)),
               "bytes": sum(len(t.encode()) for t in texts)}
        for c, m in settings:
            st = lzw.compression_stats(seqs, base_vocab_size=tok.vocab_size, codebook_size=c, max_subtokens=m)
            row[f"C{c}_M{m}"] = st.reduction
        rows.append(row)

    for path in sorted((DATA / "domain").glob("*.jsonl")):
        texts = [json.loads(l)["text"] for l in open(path, encoding="utf-8")]
        measure("domain", path.stem, texts)
    measure("domain", "english_bench (first 3 MB)", [open_gz(DATA / "english_bench/gutenberg_en.txt.gz", 3_000_000)])
    langs = {}
    for line in (DATA / "multilingual/flores200_sib/languages.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        f = line.split("\t")
        langs[f[0]] = f[1]
    for code in sorted(langs):
        p = DATA / "multilingual/flores200_sib" / f"{code}.txt"
        if p.exists():
            measure("language", code, ["\n".join(p.read_text(encoding="utf-8").splitlines())])
    out = {"tokenizer": args.tokenizer, "window": args.window, "packed": args.pack, "settings": settings, "rows": rows,
           "seconds": time.time() - t0}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"done in {time.time() - t0:.0f}s", file=sys.stderr)
    return 0


def open_gz(path, n):
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read(n)


if __name__ == "__main__":
    sys.exit(main())
