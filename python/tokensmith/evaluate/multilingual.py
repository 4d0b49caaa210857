"""Multilingual evaluation over line-aligned parallel text: per-language NSL, fertility, parity, bytes/token.

Input: a folder of `<code>.txt` files, one sentence per line, line *i* of every file translating the
same sentence (the layout of `shared/data/multilingual/flores200_sib/`; an optional `languages.tsv`
gives names, scripts and the `india_8th_schedule` group, and an optional `ids.tsv` says that shorter
files hold the first rows). Without files, `cldr_corpus()` builds short parallel strings for English
and the 22 official languages of India from the CLDR data that `babel` ships.

`evaluate_parallel(tokenizers, corpus, baseline=...)` encodes every language once per tokenizer (batch
path) and returns the report dict that `report.py` renders (schema in `docs/evaluation.md`).
"""

from __future__ import annotations

import csv
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tokensmith.errors import ConfigError, CorpusError
from tokensmith.evaluate import metrics as M

__all__ = ["ParallelCorpus", "read_parallel_dir", "read_text_sets", "cldr_corpus", "evaluate_parallel", "INDIA_22",
           "SCHEMA_VERSION", "EvalWarning"]

SCHEMA_VERSION = "tokensmith.eval/1"


class EvalWarning(UserWarning):
    """A language was skipped or a metric could not be computed; the report lists it under `skipped`."""


#: The 22 languages of the Eighth Schedule of the Constitution of India -> codes that may hold them
#: (FLORES-200 codes; Bodo, Dogri and Konkani are not in FLORES-200 but are in the CLDR default).
INDIA_22: dict[str, tuple[str, ...]] = {
    "Assamese": ("asm_Beng",), "Bengali": ("ben_Beng",), "Bodo": ("brx_Deva",), "Dogri": ("doi_Deva",),
    "Gujarati": ("guj_Gujr",), "Hindi": ("hin_Deva",), "Kannada": ("kan_Knda",),
    "Kashmiri": ("kas_Arab", "kas_Deva"), "Konkani": ("gom_Deva", "kok_Deva"), "Maithili": ("mai_Deva",),
    "Malayalam": ("mal_Mlym",), "Manipuri": ("mni_Beng", "mni_Mtei"), "Marathi": ("mar_Deva",),
    "Nepali": ("npi_Deva",), "Odia": ("ory_Orya",), "Punjabi": ("pan_Guru",), "Sanskrit": ("san_Deva",),
    "Santali": ("sat_Olck",), "Sindhi": ("snd_Arab", "snd_Deva"), "Tamil": ("tam_Taml",),
    "Telugu": ("tel_Telu",), "Urdu": ("urd_Arab",),
}
_INDIA_CODES = {c for codes in INDIA_22.values() for c in codes}


@dataclass
class ParallelCorpus:
    """Line-aligned texts by language code, with metadata and what was skipped while reading."""

    texts: dict[str, list[str]]
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    prefix_aligned: bool = False  # shorter files hold the first rows (ids.tsv present)


def _skip(skipped: list, code: str, reason: str) -> None:
    skipped.append({"language": code, "reason": reason})
    warnings.warn(f"skipping {code}: {reason}", EvalWarning, stacklevel=3)


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_parallel_dir(directory: str | Path, languages: Sequence[str] | None = None, *,
                      max_lines: int | None = None, start_line: int = 0) -> ParallelCorpus:
    """Read `<code>.txt` files from `directory` (all of them, or `languages`).

    Empty or non-UTF-8 files and requested languages without a file are skipped with a warning.
    Files of different lengths are an error unless `ids.tsv` is present (then a shorter file holds the
    first rows, as in the FLORES kit, and parity uses the common lines). `start_line` skips the first
    lines of every file (e.g. 600 to evaluate on FLORES lines a tokenizer was not trained on), then at most
    `max_lines` are kept.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(f"parallel folder {directory} does not exist: pass a folder of <language>.txt files")
    info: dict[str, dict[str, Any]] = {}
    if (directory / "languages.tsv").is_file():
        for row in _read_tsv(directory / "languages.tsv"):
            if row.get("code"):
                info[row["code"]] = {"name": row.get("name") or row["code"], "script": row.get("script") or "",
                                     "india_8th_schedule": (row.get("india_8th_schedule") == "yes")}
    prefix_aligned = (directory / "ids.tsv").is_file()
    available = {p.stem: p for p in sorted(directory.glob("*.txt"))}
    if not available:
        raise CorpusError(f"no <language>.txt files in {directory}: pass a folder of line-aligned text files")
    codes = list(available) if languages is None else list(dict.fromkeys(languages))
    skipped: list[dict[str, str]] = []
    texts: dict[str, list[str]] = {}
    for code in codes:
        path = available.get(code)
        if path is None:
            _skip(skipped, code, f"no file {directory / (code + '.txt')}")
            continue
        try:
            raw = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            _skip(skipped, code, f"{path} is not UTF-8 (byte {exc.start}); re-encode it as UTF-8")
            continue
        lines = raw.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        if not any(ln.strip() for ln in lines):
            _skip(skipped, code, f"{path} is empty")
            continue
        lines = lines[start_line:]
        if not any(ln.strip() for ln in lines):
            _skip(skipped, code, f"{path} has no lines after line {start_line}")
            continue
        texts[code] = lines[:max_lines] if max_lines else lines
        meta = info.setdefault(code, {"name": code, "script": code.split("_")[-1] if "_" in code else "",
                                      "india_8th_schedule": code in _INDIA_CODES})
        meta["file"] = str(path)
    if not texts:
        raise CorpusError(f"no readable language files in {directory} (skipped: "
                          f"{'; '.join(s['reason'] for s in skipped[:3])})")
    lengths = {c: len(t) for c, t in texts.items()}
    if not prefix_aligned and len(set(lengths.values())) > 1:
        most = max(set(lengths.values()), key=list(lengths.values()).count)
        odd = next(c for c, n in lengths.items() if n != most)
        raise CorpusError(f"ragged parallel files: {texts and info[odd]['file']} has {lengths[odd]} lines, "
                          f"most files have {most}; make every file line-aligned (same line count) "
                          "or leave it out with --languages")
    return ParallelCorpus(texts, {c: info[c] for c in texts}, skipped, str(directory), prefix_aligned)


def read_text_sets(paths: Sequence[str | Path], *, max_lines: int | None = None) -> ParallelCorpus:
    """Non-parallel text sets (domains): each `.txt` file (one item per line) or `.jsonl` file (its `text`
    fields) becomes one "language" named by the file stem; a folder contributes its `.txt`/`.jsonl` files.
    NSL, fertility and bytes/token compare tokenizers on the same text; parity is not defined (null)."""
    import json

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(q for q in p.iterdir() if q.suffix in (".txt", ".jsonl"))
        elif p.is_file():
            files.append(p)
        else:
            raise CorpusError(f"text set {p} does not exist: pass .txt/.jsonl files or folders")
    texts: dict[str, list[str]] = {}
    info: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    for f in files:
        try:
            raw = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            _skip(skipped, f.stem, f"{f} is not UTF-8 (byte {exc.start}); re-encode it as UTF-8")
            continue
        if f.suffix == ".jsonl":
            items = []
            for n, line in enumerate(raw.splitlines(), 1):
                if line.strip():
                    try:
                        items.append(str(json.loads(line)["text"]))
                    except (ValueError, KeyError, TypeError):
                        raise CorpusError(f"{f}:{n} is not a JSON object with a 'text' field") from None
        else:
            items = raw.splitlines()
        items = [t for t in items if t.strip()][:max_lines] if max_lines else [t for t in items if t.strip()]
        if not items:
            _skip(skipped, f.stem, f"{f} is empty")
            continue
        texts[f.stem] = items
        info[f.stem] = {"name": f.stem, "script": "", "india_8th_schedule": False}
    if not texts:
        raise CorpusError("no readable text in the given text sets")
    return ParallelCorpus(texts, info, skipped, ", ".join(str(p) for p in paths), False)


# ---- the embedded CLDR default ---------------------------------------------------------------------

#: code used in the report -> CLDR locale
CLDR_LOCALES: dict[str, str] = {
    "eng_Latn": "en", "asm_Beng": "as", "ben_Beng": "bn", "brx_Deva": "brx", "doi_Deva": "doi",
    "guj_Gujr": "gu", "hin_Deva": "hi", "kan_Knda": "kn", "kas_Arab": "ks", "gom_Deva": "kok",
    "mai_Deva": "mai", "mal_Mlym": "ml", "mni_Beng": "mni", "mar_Deva": "mr", "npi_Deva": "ne",
    "ory_Orya": "or", "pan_Guru": "pa", "san_Deva": "sa", "sat_Olck": "sat", "snd_Arab": "sd",
    "tam_Taml": "ta", "tel_Telu": "te", "urd_Arab": "ur",
}
_UNITS = ["length-kilometer", "length-meter", "length-centimeter", "mass-kilogram", "mass-gram", "duration-hour",
          "duration-minute", "duration-second", "duration-day", "duration-week", "duration-month", "duration-year",
          "temperature-celsius", "volume-liter", "speed-kilometer-per-hour", "area-square-kilometer"]


def cldr_corpus() -> ParallelCorpus:
    """Short parallel strings for English and the 22 official languages of India from CLDR (PyPI `babel`):
    language, territory, month and weekday names, and unit names. An item is kept only when every
    locale has its own (non-inherited, non-English) string for it, so the lines stay parallel."""
    try:
        from babel import Locale, units
    except ImportError as exc:
        raise ConfigError("the default multilingual text needs babel: pip install babel") from exc
    locs = {code: Locale.parse(loc) for code, loc in CLDR_LOCALES.items()}
    en = locs["eng_Latn"]
    items: list[tuple[str, Any]] = []
    lang_keys = [k for k in en.languages if k != "und" and all(k in loc.languages for loc in locs.values())]
    items += [("language", k) for k in sorted(lang_keys)]
    terr_keys = [k for k in en.territories if k not in ("ZZ",) and all(k in loc.territories for loc in locs.values())]
    items += [("territory", k) for k in sorted(terr_keys)]
    items += [("month", m) for m in range(1, 13)]
    items += [("day", d) for d in range(7)]
    items += [("unit", u) for u in _UNITS]

    def value(loc, kind, key) -> str | None:
        try:
            if kind == "language":
                return loc.languages.get(key)
            if kind == "territory":
                return loc.territories.get(key)
            if kind == "month":
                return loc.months["format"]["wide"][key]
            if kind == "day":
                return loc.days["format"]["wide"][key]
            return units.format_unit(3, key, length="long", locale=loc)
        except Exception:  # noqa: BLE001 - a missing CLDR entry just drops the item
            return None

    texts: dict[str, list[str]] = {c: [] for c in locs}
    english = {it: value(en, *it) for it in items}
    for it in items:
        row = {c: value(loc, *it) for c, loc in locs.items()}
        if any(v is None for v in row.values()):
            continue
        if any(c != "eng_Latn" and (row[c] == english[it] or row[c].isascii()) for c in row):
            continue  # a locale that falls back to English/ASCII would not be parallel text
        for c, v in row.items():
            texts[c].append(v)
    info = {c: {"name": Locale.parse(loc).english_name, "script": c.split("_")[1],
                "india_8th_schedule": c != "eng_Latn"} for c, loc in CLDR_LOCALES.items()}
    return ParallelCorpus(texts, info, [], "cldr (babel)", False)


# ---- evaluation ------------------------------------------------------------------------------------

def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, file=sys.stderr, unit="lang", leave=False)


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))) else x


def evaluate_parallel(tokenizers: Mapping[str, Any], corpus: ParallelCorpus, *, baseline: str | None = None,
                      pivot: str | None = "eng_Latn", alpha: float = 2.5, progress: bool = True,
                      sample_languages: Sequence[str] | None = None, specs: Mapping[str, str] | None = None,
                      return_frequencies: bool = False, roundtrip_lines: int = 50,
                      min_roundtrip: float = 0.95) -> dict:
    """Evaluate every tokenizer on every language of `corpus`; returns the report dict.

    `baseline` (a key of `tokenizers`; default the first) is the β of NSL; `pivot` the language of parity.
    Ranks and wins count only tokenizers that decode at least `min_roundtrip` of the first
    `roundtrip_lines` lines of a language back to the text (see `metrics.roundtrip_share`): a tokenizer
    that drops information (`[UNK]`, stripped marks) is not shorter, it is lossy; its rank is null.
    With `return_frequencies`, `report["_frequencies"]` holds each tokenizer's id counts (numpy, not JSON).
    """
    from tokensmith.evaluate.loaders import as_adapter

    if not tokenizers:
        raise ConfigError("give at least one tokenizer")
    adapters = {name: as_adapter(tok, name) for name, tok in tokenizers.items()}
    names = list(adapters)
    baseline = baseline or names[0]
    if baseline not in adapters:
        raise ConfigError(f"baseline '{baseline}' is not among the tokenizers ({', '.join(names)}): "
                          "pass one of them with --baseline")
    skipped = list(corpus.skipped)
    if pivot and pivot not in corpus.texts:
        skipped.append({"language": pivot, "reason": f"pivot language {pivot} not in the corpus: parity is null"})
        warnings.warn(f"pivot language {pivot} is missing: parity is not computed", EvalWarning, stacklevel=2)
    codes = list(corpus.texts)
    if pivot and pivot in codes:  # the pivot first, so its counts exist for parity
        codes.remove(pivot)
        codes.insert(0, pivot)
    totals = {n: np.zeros(max(1, adapters[n].vocab_size), dtype=np.int64) for n in names}
    n_langs_per_type = {n: np.zeros(max(1, adapters[n].vocab_size), dtype=np.int64) for n in names}
    seconds = {n: 0.0 for n in names}
    per_line: dict[str, dict[str, np.ndarray]] = {}
    languages: dict[str, dict[str, dict]] = {}
    language_info: dict[str, dict] = {}
    bar = _progress(len(codes), "eval", progress)
    t_start = time.perf_counter()
    for code in codes:
        lines = corpus.texts[code]
        tc = M.count_text(lines)
        meta = dict(corpus.info.get(code, {}))
        meta.pop("file", None)
        unseg = M.is_unsegmented(meta.get("script") or None, words=tc.total_words, chars=tc.total_chars)
        language_info[code] = {**meta, "lines": len(lines), "bytes": tc.total_bytes, "chars": tc.total_chars,
                               "words": tc.total_words, "unsegmented": unseg}
        per_line[code] = {}
        sample_ids: dict[str, list] = {}
        for n in names:
            t0 = time.perf_counter()
            kept: list = []
            counts, freqs = M.count_tokens(adapters[n], lines, vocab_size=len(totals[n]), keep_ids=kept,
                                           keep_first=roundtrip_lines)
            sample_ids[n] = kept
            seconds[n] += time.perf_counter() - t0
            if len(freqs) > len(totals[n]):
                grow = len(freqs) - len(totals[n])
                totals[n] = np.pad(totals[n], (0, grow))
                n_langs_per_type[n] = np.pad(n_langs_per_type[n], (0, grow))
            totals[n][: len(freqs)] += freqs
            n_langs_per_type[n][: len(freqs)] += freqs > 0
            per_line[code][n] = counts
            languages.setdefault(code, {})[n] = {"_freqs": freqs}
        for n in names:
            counts = per_line[code][n]
            freqs = languages[code][n].pop("_freqs")
            tokens = int(counts.sum())
            row: dict[str, Any] = {
                "tokens": tokens, "bytes": tc.total_bytes, "chars": tc.total_chars, "words": tc.total_words,
                "lines": len(lines),
                "nsl": M.normalized_sequence_length(counts, per_line[code][baseline]),
                "tokens_per_word": M.fertility(counts, tc.words),
                "tokens_per_char": M.tokens_per_char(counts, tc.chars),
                "bytes_per_token": M.bytes_per_token(tc.bytes, counts),
                "chars_per_token": M.chars_per_token(tc.chars, counts),
                "types_used": int((freqs > 0).sum()),
                "roundtrip": M.roundtrip_share(adapters[n], lines[:roundtrip_lines], sample_ids[n]),
                "renyi_efficiency": M.renyi_efficiency(freqs, max(2, adapters[n].vocab_size), alpha)
                if tokens else float("nan"),
            }
            row["fertility"] = row["tokens_per_char"] if unseg else row["tokens_per_word"]
            row["fertility_unit"] = "char" if unseg else "word"
            if pivot and pivot in per_line:
                piv = per_line[pivot][n]
                k = min(len(piv), len(counts))
                row["parity"] = M.parity(counts[:k], piv[:k])
                row["parity_median"] = M.parity_median(counts[:k], piv[:k])
                row["parity_lines"] = k
            else:
                row["parity"] = row["parity_median"] = float("nan")
                row["parity_lines"] = 0
            languages[code][n] = {k2: (_num(v) if isinstance(v, float) else v) for k2, v in row.items()}
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t_start

    def lossless(code: str, n: str) -> bool:
        share = languages[code][n]["roundtrip"]
        return share is None or share >= min_roundtrip

    ranks = {code: _rank({n: languages[code][n]["tokens"] for n in names if lossless(code, n)}, names)
             for code in codes}
    wins = {n: sum(1 for code in codes if ranks[code][n] == 1) for n in names}
    groups = _groups(languages, language_info, names, codes, ranks, lossless)
    total_bytes = sum(language_info[c]["bytes"] for c in codes)
    tok_summary = {}
    for n in names:
        a = adapters[n]
        f = totals[n]
        util1 = M.vocabulary_utilisation(f, a.vocab_size, k=1, exclude_ids=a.special_ids)
        util10 = M.vocabulary_utilisation(f, a.vocab_size, k=10, exclude_ids=a.special_ids)
        tok_summary[n] = {
            "spec": (specs or {}).get(n, n), "kind": a.kind, "vocab_size": a.vocab_size,
            "renyi_efficiency": _num(M.renyi_efficiency(f, max(2, a.vocab_size), alpha)) if f.sum() else None,
            "renyi_alpha": alpha,
            "tokens": int(f.sum()), "bytes_per_token": _num(M.bytes_per_token(total_bytes, f.sum())),
            "types_used": util1["used_at_least_k"], "types_used_10": util10["used_at_least_k"],
            "types_never_produced": util1["never_produced"], "share_never_produced": _num(util1["share_never_produced"]),
            "languages_per_type": _sharing(n_langs_per_type[n], len(codes)),
            "encode_seconds": round(seconds[n], 3),
            "mb_per_second": round(total_bytes / 1e6 / seconds[n], 3) if seconds[n] > 0 else None,
            "usage_curve": _usage_curve(f, a.vocab_size),
            "wins": wins[n],
        }
    samples = _samples(adapters, corpus, sample_languages)
    report = {
        "schema": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": corpus.source, "baseline": baseline, "pivot": pivot, "renyi_alpha": alpha,
        "tokenizers": tok_summary, "language_info": language_info, "languages": languages,
        "ranks": ranks, "wins": wins, "groups": groups, "skipped": skipped, "samples": samples,
        "timing": {"seconds": round(wall, 3), "languages": len(codes), "tokenizers": len(names),
                   "bytes": total_bytes},
    }
    if return_frequencies:
        report["_frequencies"] = totals
    return report


def _sharing(n_langs: np.ndarray, n_total: int) -> dict[str, Any]:
    used = n_langs[n_langs > 0]
    return {"mean": float(used.mean()) if len(used) else None,
            "single_language_types": int((used == 1).sum()), "all_language_types": int((n_langs == n_total).sum())}


def _rank(tokens: Mapping[str, int], names: Sequence[str] | None = None) -> dict[str, int | None]:
    """Competition ranks, 1 = fewest tokens; ties share a rank; `names` missing from `tokens` get None.

    >>> _rank({"a": 10, "b": 5, "c": 10}, ["a", "b", "c", "d"])
    {'a': 2, 'b': 1, 'c': 2, 'd': None}
    """
    r = {n: 1 + sum(1 for v in tokens.values() if v < t) for n, t in tokens.items()}
    return {n: r.get(n) for n in (names or list(tokens))}


def _usage_curve(freqs: np.ndarray, vocab_size: int, points: int = 120) -> dict[str, list]:
    """Share of all tokens covered by the k most frequent types, at log-spaced k (for the usage plot)."""
    f = np.sort(freqs[freqs > 0])[::-1]
    if not len(f):
        return {"k": [], "coverage": []}
    cum = np.cumsum(f) / f.sum()
    ks = np.unique(np.geomspace(1, len(f), num=min(points, len(f))).astype(int))
    return {"k": ks.tolist(), "coverage": [round(float(cum[k - 1]), 5) for k in ks],
            "share_of_vocab": [round(k / max(1, vocab_size), 6) for k in ks]}


def _groups(languages: dict, info: dict, names: list[str], codes: list[str], ranks: dict, lossless) -> dict[str, Any]:
    out: dict[str, Any] = {}
    present_india = [c for c in codes if c in _INDIA_CODES or info[c].get("india_8th_schedule")]
    groups = {"all": codes}
    if present_india:
        groups["india_8th_schedule"] = present_india
    scripts: dict[str, list[str]] = {}
    for c in codes:
        if info[c].get("script"):
            scripts.setdefault(f"script:{info[c]['script']}", []).append(c)
    if len(scripts) > 1:
        groups.update(sorted(scripts.items()))
    for gname, gcodes in groups.items():
        g: dict[str, Any] = {"languages": gcodes, "mean": {}}
        for n in names:
            g["mean"][n] = {m: _num(float(np.mean([languages[c][n][m] for c in gcodes
                                                    if languages[c][n][m] is not None] or [float("nan")])))
                            for m in ("nsl", "fertility", "parity", "bytes_per_token")}
        g["wins"] = {n: sum(1 for c in gcodes if ranks[c][n] == 1) for n in names}
        out[gname] = g
    if present_india:
        by_lang: dict[str, list[str]] = {}
        for lang, cands in INDIA_22.items():
            have = [c for c in cands if c in languages]
            if have:
                by_lang[lang] = have
        lang_wins = {n: 0 for n in names}
        lang_ranks = {}
        for lang, have in by_lang.items():
            r = _rank({n: sum(languages[c][n]["tokens"] for c in have) for n in names
                       if all(lossless(c, n) for c in have)}, names)
            lang_ranks[lang] = r
            for n in names:
                lang_wins[n] += r[n] == 1
        lossy = {n: [c for c in present_india if not lossless(c, n)] for n in names}
        out["india_8th_schedule"].update({
            "official_languages": 22, "covered": sorted(by_lang), "missing": sorted(set(INDIA_22) - set(by_lang)),
            "language_wins": lang_wins, "language_ranks": lang_ranks,
            "lossy": {n: v for n, v in lossy.items() if v}})
    return out


def _samples(adapters: Mapping[str, Any], corpus: ParallelCorpus, langs: Sequence[str] | None) -> list[dict]:
    if langs is None:
        prefer = ["eng_Latn", "hin_Deva", "tam_Taml", "ben_Beng", "urd_Arab", "sat_Olck", "zho_Hans"]
        langs = [c for c in prefer if c in corpus.texts][:5] or list(corpus.texts)[:4]
    out = []
    for code in langs:
        lines = corpus.texts.get(code) or []
        text = next((ln for ln in lines if ln.strip()), "")
        if not text:
            continue
        text = text[:300]
        row = {"language": code, "text": text, "tokens": {}}
        for n, a in adapters.items():
            row["tokens"][n] = token_pieces(a, text)
        out.append(row)
    return out


def token_pieces(adapter: Any, text: str) -> list[str]:
    """The text as the tokenizer splits it: one string per token, tokens that end inside a UTF-8
    character joined with the next (so every piece is printable). Specials show as their id."""
    ids = adapter.encode(text)
    pieces: list[str] = []
    pending = b""
    for i in ids:
        b = adapter.token_bytes(i)
        if b is None:
            pieces.append(f"<{i}>")
            continue
        pending += b
        try:
            pieces.append(pending.decode("utf-8"))
            pending = b""
        except UnicodeDecodeError:
            continue
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return pieces
