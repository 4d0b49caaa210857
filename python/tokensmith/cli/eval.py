"""`tokensmith eval`: evaluate tokenizers over parallel text and write report.{json,md,html}.

    tokensmith eval --tokenizers gpt4=tiktoken:cl100k_base.tiktoken,spm:llama2/tokenizer.model \
        --baseline gpt4 --parallel shared/data/multilingual/flores200_sib --out OUT

Without `--parallel`, the embedded CLDR strings (English and the 22 official languages of India) are used.
"""

from __future__ import annotations

import argparse
import sys
import warnings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate tokenizers: NSL, fertility, parity, bytes/token per language; JSON/MD/HTML report",
        description="Evaluate tokenizers on line-aligned parallel text (one <language>.txt per language).")
    p.add_argument("--tokenizers", required=True,
                   help="comma-separated NAME=SPEC or SPEC; SPEC is hf:PATH, transformers:DIR, spm:PATH, "
                        "tiktoken:PATH[#PATTERN], tekken:PATH, tokensmith:PATH or a path (format sniffed)")
    p.add_argument("--baseline", default=None, help="tokenizer name used as the NSL baseline (default: the first)")
    p.add_argument("--parallel", default=None,
                   help="folder of line-aligned <code>.txt files (default: the embedded CLDR strings)")
    p.add_argument("--domains", default=None,
                   help="comma-separated .txt/.jsonl files or folders: evaluate on these text sets instead "
                        "(one row per file, e.g. shared/data/domain; no parity)")
    p.add_argument("--languages", default=None, help="comma-separated language codes (default: all files)")
    p.add_argument("--pivot", default="eng_Latn", help="language of the parity ratio (default: eng_Latn)")
    p.add_argument("--start-line", type=int, default=0,
                   help="skip this many lines of every file first (e.g. 600: FLORES lines not used for training)")
    p.add_argument("--max-lines", type=int, default=None, help="use at most this many lines per language")
    p.add_argument("--out", required=True, help="output folder for report.json, report.md, report.html")
    p.add_argument("--morphology", default=None,
                   help="folder of gold <lang>.tsv segmentations (word, morphemes): adds morphology metrics")
    p.add_argument("--morph-max-words", type=int, default=2000, help="words per morphology language (default 2000)")
    p.add_argument("--variants", default=None, help="GB/US spelling-pair TSV: adds spelling-variation sensitivity")
    p.add_argument("--productivity", action="store_true", help="add subword productivity per language")
    p.add_argument("--embeddings", default=None,
                   help="NAME=model.safetensors[,...]: under-trained token candidates from input embeddings")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tokensmith.errors import ConfigError
    from tokensmith.evaluate.loaders import load_tokenizer, parse_tokenizer_arg
    from tokensmith.evaluate.multilingual import EvalWarning
    from tokensmith.evaluate.report import write_report

    if args.domains and args.parallel:
        raise ConfigError("give either --parallel or --domains, not both")
    entries = [e for e in args.tokenizers.split(",") if e.strip()]
    if not entries:
        raise ConfigError("--tokenizers is empty: give NAME=SPEC,... (e.g. gpt4=tiktoken:cl100k_base.tiktoken)")
    named = [parse_tokenizer_arg(e) for e in entries]
    names = [n for n, _ in named]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"tokenizer name {dupes[0]} is given twice: name them with NAME=SPEC")
    if args.baseline is not None and args.baseline not in names:
        raise ConfigError(f"--baseline {args.baseline} is not among the tokenizers ({', '.join(names)}): "
                          "pass one of their names")
    tokenizers = {}
    for name, spec in named:
        if not args.no_progress:
            print(f"loading {name}", file=sys.stderr)
        tokenizers[name] = load_tokenizer(spec, name)
    languages = [c.strip() for c in args.languages.split(",") if c.strip()] if args.languages else None
    embeddings = {}
    for item in (args.embeddings or "").split(","):
        if item.strip():
            name, sep, path = item.partition("=")
            if not sep or name not in tokenizers:
                raise ConfigError(f"--embeddings {item}: write NAME=model.safetensors with NAME one of "
                                  f"{', '.join(names)}")
            embeddings[name] = path

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"tokensmith eval: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", EvalWarning)
        warnings.showwarning = show
        report = write_report(tokenizers, args.parallel, args.out, baseline=args.baseline or names[0],
                              languages=languages, pivot=args.pivot, progress=not args.no_progress,
                              specs=dict(named), max_lines=args.max_lines, morphology=args.morphology,
                              morph_max_words=args.morph_max_words, variants=args.variants,
                              productivity=args.productivity, embeddings=embeddings or None,
                              domains=[d for d in (args.domains or "").split(",") if d.strip()] or None,
                              start_line=args.start_line)
    t = report["timing"]
    india = report["groups"].get("india_8th_schedule")
    print(f"evaluated {t['tokenizers']} tokenizers on {t['languages']} languages "
          f"({t['bytes'] / 1e6:.1f} MB) in {t['seconds']:.1f} s")
    if india:
        lw = india.get("language_wins", india["wins"])
        best = max(lw, key=lw.get)
        print(f"official languages of India: {best} wins {lw[best]} of {len(india.get('covered', []))} covered")
    for kind, path in report["paths"].items():
        print(f"wrote {path}")
    if report["skipped"]:
        print(f"skipped {len(report['skipped'])}: "
              + "; ".join(f"{s['language']} ({s['reason']})" for s in report["skipped"][:5]), file=sys.stderr)
    return 0
