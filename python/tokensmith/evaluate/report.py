"""Render an evaluation report as JSON (stable schema), Markdown tables and one self-contained HTML page.

`write_report(tokenizers, parallel, out_dir, baseline=...)` is the one call the CLI and the demo use:
it evaluates (see `multilingual.evaluate_parallel`) and writes `report.json`, `report.md` and
`report.html` (plots as embedded base64 PNG, no scripts, no external files).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from tokensmith._io import atomic_write

__all__ = ["write_report", "write_json", "render_markdown", "render_html", "rerender"]

_METRICS = [("nsl", "NSL", "{:.3f}"), ("fertility", "fertility", "{:.2f}"), ("parity", "parity", "{:.2f}"),
            ("bytes_per_token", "bytes/token", "{:.2f}")]


def write_report(tokenizers: Mapping[str, Any], parallel_dir_or_default: str | Path | None, out_dir: str | Path, *,
                 baseline: str | None = None, languages: Sequence[str] | None = None, pivot: str = "eng_Latn",
                 progress: bool = True, specs: Mapping[str, str] | None = None,
                 max_lines: int | None = None, morphology: str | Path | None = None, morph_max_words: int = 2000,
                 variants: str | Path | None = None, productivity: bool = False,
                 embeddings: Mapping[str, str | Path] | None = None,
                 domains: Sequence[str | Path] | None = None, start_line: int = 0) -> dict[str, Any]:
    """Evaluate `tokenizers` ({name: tokenizer object or adapter}) on a parallel folder, or on the
    embedded CLDR default when `parallel_dir_or_default` is None or "default", and write
    `out_dir/report.{json,md,html}`. Returns the report dict (with `paths`).

    Optional sections: `morphology` (folder of gold `<lang>.tsv`), `variants` (GB/US spelling-pair TSV),
    `productivity` (subword productivity per language) and `embeddings` ({name: model.safetensors}:
    under-trained token candidates). `domains` (a list of .txt/.jsonl files or folders) replaces the
    parallel text with non-parallel text sets, one per file (parity is then null)."""
    from tokensmith.evaluate import sections
    from tokensmith.evaluate.loaders import as_adapter
    from tokensmith.evaluate.multilingual import cldr_corpus, evaluate_parallel, read_parallel_dir

    if domains:
        from tokensmith.evaluate.multilingual import read_text_sets

        corpus = read_text_sets(domains, max_lines=max_lines)
        pivot = None
    elif parallel_dir_or_default in (None, "", "default", "cldr"):
        corpus = cldr_corpus()
        if languages:
            keep = [c for c in languages if c in corpus.texts]
            corpus.skipped += [{"language": c, "reason": "not in the CLDR default"} for c in languages
                               if c not in corpus.texts]
            corpus.texts = {c: corpus.texts[c] for c in keep}
    else:
        corpus = read_parallel_dir(parallel_dir_or_default, languages, max_lines=max_lines, start_line=start_line)
    adapters = {n: as_adapter(t, n) for n, t in tokenizers.items()}
    report = evaluate_parallel(adapters, corpus, baseline=baseline, pivot=pivot, progress=progress, specs=specs,
                               return_frequencies=True)
    freqs = report.pop("_frequencies")
    if morphology:
        report["morphology"] = sections.morphology_section(adapters, morphology, max_words=morph_max_words)
    if variants:
        report["variation"] = sections.variation_section(adapters, variants)
    if productivity:
        report["productivity"] = sections.productivity_section(adapters, corpus.texts)
    if embeddings:
        report["undertrained"] = sections.undertrained_section(adapters, embeddings, frequencies=freqs)
    out = Path(out_dir)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    write_json(report, paths["json"])
    with atomic_write(paths["md"]) as f:
        f.write(render_markdown(report))
    with atomic_write(paths["html"]) as f:
        f.write(render_html(report))
    for p in paths.values():
        p.chmod(0o644)  # reports are meant to be shared (the temporary file was private)
    report["paths"] = {k: str(v) for k, v in paths.items()}
    return report


def rerender(out_dir: str | Path) -> None:
    """Rewrite `report.md` and `report.html` from an existing `report.json` (no re-evaluation)."""
    out = Path(out_dir)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for name, text in (("report.md", render_markdown(report)), ("report.html", render_html(report))):
        with atomic_write(out / name) as f:
            f.write(text)
        (out / name).chmod(0o644)


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if (math.isnan(x) or math.isinf(x)) else x
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):  # numpy scalars
        return _clean(x.item())
    return x


def write_json(report: Mapping[str, Any], path: str | Path) -> None:
    """Write the report as strict JSON (NaN becomes null), atomically."""
    with atomic_write(path) as f:
        json.dump(_clean(dict(report)), f, ensure_ascii=False, indent=1, allow_nan=False)
        f.write("\n")


def _fmt(v: Any, fmt: str) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _lang_label(report: Mapping, code: str) -> str:
    name = report["language_info"].get(code, {}).get("name", code)
    return f"{name} ({code})" if name != code else code


# ---- Markdown ----------------------------------------------------------------------------------------

def render_markdown(report: Mapping[str, Any]) -> str:
    """Markdown: tokenizers, the Indian-languages group, then one table per metric over all languages."""
    names = list(report["tokenizers"])
    lines = [f"# Tokenizer evaluation", "",
             f"Source: `{report['source']}`. Baseline for NSL: **{report['baseline']}**. Parity pivot: "
             f"`{report['pivot']}`. Rényi efficiency at α = {report['renyi_alpha']} with |V| as stated. "
             f"{report['timing']['languages']} languages, {report['timing']['tokenizers']} tokenizers, "
             f"{report['timing']['bytes'] / 1e6:.1f} MB of text, {report['timing']['seconds']:.1f} s.", "",
             "## Tokenizers", "",
             "| tokenizer | kind | vocab size | Rényi eff. | bytes/token | types used | never produced | languages won | MB/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n, t in report["tokenizers"].items():
        lines.append(f"| {n} | {t['kind']} | {t['vocab_size']:,} | {_fmt(t['renyi_efficiency'], '{:.3f}')} | "
                     f"{_fmt(t['bytes_per_token'], '{:.2f}')} | {t['types_used']:,} | {t['types_never_produced']:,} | "
                     f"{t['wins']} | {_fmt(t['mb_per_second'], '{:.2f}')} |")
    india = report["groups"].get("india_8th_schedule")
    if india:
        lines += ["", "## The 22 official languages of India (Eighth Schedule)", "",
                  f"Covered: {len(india.get('covered', []))} of 22"
                  + (f"; missing: {', '.join(india['missing'])}" if india.get("missing") else "") + ". "
                  "Ranks by token count on the same sentences (1 = fewest tokens).", "",
                  "| language | " + " | ".join(f"{n} NSL" for n in names) + " | best |",
                  "|---|" + "---:|" * len(names) + "---|"]
        for code in india["languages"]:
            row = report["languages"][code]
            best = [n for n in names if report["ranks"][code][n] == 1]
            cells = []
            for n in names:
                s = _fmt(row[n]["nsl"], "{:.3f}")
                cells.append(f"**{s}**" if n in best else s + ("†" if report["ranks"][code][n] is None else ""))
            lines.append(f"| {_lang_label(report, code)} | " + " | ".join(cells) + f" | {', '.join(best)} |")
        lw = india.get("language_wins", india["wins"])
        lines += ["", "† lossy on this language (fewer than 95% of the sampled lines decode back to the text: "
                  "`[UNK]`, lowercasing or stripped marks); not ranked."]
        lines += ["", "Languages won (of the covered official languages): "
                  + ", ".join(f"{n} {lw[n]}" for n in sorted(names, key=lambda n: -lw[n])) + ".", "",
                  "| mean over the group | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for key, label, fmt in _METRICS:
            lines.append(f"| {label} | " + " | ".join(_fmt(india['mean'][n][key], fmt) for n in names) + " |")
    for key, label, fmt in _METRICS:
        if key == "parity" and not report["pivot"]:
            continue
        lines += ["", f"## {label} per language", "", "| language | " + " | ".join(names) + " |",
                  "|---|" + "---:|" * len(names)]
        for code, row in report["languages"].items():
            unit = " (per char)" if key == "fertility" and report["language_info"][code].get("unsegmented") else ""
            lines.append(f"| {_lang_label(report, code)}{unit} | "
                         + " | ".join(_fmt(row[n][key], fmt) for n in names) + " |")
    lines += _markdown_sections(report, names)
    if report["skipped"]:
        lines += ["", "## Skipped", ""] + [f"- `{s['language']}`: {s['reason']}" for s in report["skipped"]]
    return "\n".join(lines) + "\n"


# ---- HTML --------------------------------------------------------------------------------------------

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(report["tokenizers"])
    langs = report["languages"]
    out = []
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    color = {n: cmap(i % cmap.N) for i, n in enumerate(names)}
    india = report["groups"].get("india_8th_schedule")
    bar_codes = india["languages"] if india else list(langs)[:40]
    bars = [("nsl", f"NSL vs {report['baseline']} (lower is shorter)")]
    if report["pivot"]:
        bars.append(("parity", f"parity vs {report['pivot']} (1 = same token count)"))
    for key, label in bars:
        # wide enough to separate the bars, never so wide that the browser shrinks the labels away
        fig, ax = plt.subplots(figsize=(min(18, max(8, 0.12 * len(bar_codes) * max(1, len(names)) + 3)), 4.5))
        width = 0.8 / len(names)
        x = np.arange(len(bar_codes))
        for j, n in enumerate(names):
            vals = [langs[c][n][key] if langs[c][n][key] is not None else 0 for c in bar_codes]
            ax.bar(x + j * width - 0.4 + width / 2, vals, width, label=n, color=color[n])
        ax.set_xticks(x)
        ax.set_xticklabels(bar_codes, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel(key)
        ax.set_title(label + (" — Indian languages" if india else ""))
        if key == "nsl":
            ax.axhline(1.0, color="black", lw=0.6)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: never covers bars
        out.append((f"bar-{key}", label, _png(fig)))
    codes = list(langs)
    hkey = "parity" if report["pivot"] else "nsl"
    data = np.array([[langs[c][n][hkey] if langs[c][n][hkey] is not None else np.nan for c in codes]
                     for n in names], dtype=float)
    fig, ax = plt.subplots(figsize=(min(30, max(8, 0.13 * len(codes) + 2)), 0.5 * len(names) + 1.8))
    im = ax.imshow(np.log2(data), aspect="auto", cmap="RdYlGn_r", vmin=-1, vmax=max(2.0, float(np.nanmax(np.log2(data)))
                                                                                    if np.isfinite(data).any() else 2.0))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xticks(range(len(codes)))
    ax.set_xticklabels(codes, rotation=90, fontsize=max(3, min(8, 400 // max(1, len(codes)))))
    ax.set_title(f"log2 parity vs {report['pivot']} (tokenizers × languages)" if report["pivot"]
                 else f"log2 NSL vs {report['baseline']} (tokenizers × text sets)")
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01)
    out.append(("heatmap", "parity heatmap", _png(fig)))
    fig, ax = plt.subplots(figsize=(7, 4))
    for n in names:
        curve = report["tokenizers"][n]["usage_curve"]
        if curve["k"]:
            ax.plot(curve["k"], curve["coverage"], color=color[n], label=f"{n} ({report['tokenizers'][n]['types_used']:,} of "
                                                         f"{report['tokenizers'][n]['vocab_size']:,} types used)")
    ax.set_xscale("log")
    ax.set_xlabel("k most frequent token types")
    ax.set_ylabel("share of all tokens")
    ax.set_title("vocabulary usage")
    ax.legend(fontsize=7)
    out.append(("usage", "vocabulary usage curves", _png(fig)))
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}
td.best{font-weight:bold;background:#e6f4e6}td.lossy{color:#999;font-style:italic}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.split{font-family:monospace;font-size:14px;line-height:1.9;white-space:pre-wrap;word-break:break-all}
.split span{border-radius:3px;padding:1px 0;margin-right:1px}
.t0{background:#fde2e2}.t1{background:#dbeafe}.t2{background:#dcfce7}.t3{background:#fef3c7}.t4{background:#ede9fe}.t5{background:#cffafe}
.sample{margin:1em 0;border-top:1px solid #ddd;padding-top:.5em}
.note{color:#666;font-size:13px}
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained page: summary, plots (embedded PNG), tables, colored token splits. No scripts."""
    names = list(report["tokenizers"])
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>tokensmith evaluation report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Tokenizer evaluation</h1>",
             f"<p class='note'>Source <code>{_e(report['source'])}</code>; NSL baseline <b>{_e(report['baseline'])}</b>; "
             f"parity pivot <code>{_e(report['pivot'])}</code>; Rényi α = {report['renyi_alpha']}; "
             f"{report['timing']['languages']} languages, {report['timing']['bytes'] / 1e6:.1f} MB, "
             f"{report['timing']['seconds']:.1f} s.</p>",
             "<h2>Tokenizers</h2><table id='tokenizers'><tr><th class='l'>tokenizer</th><th>kind</th><th>vocab size</th>"
             "<th>Rényi eff.</th><th>bytes/token</th><th>types used</th><th>never produced</th><th>languages won</th>"
             "<th>MB/s</th></tr>"]
    for n, t in report["tokenizers"].items():
        parts.append(f"<tr><td class='l'>{_e(n)}</td><td>{_e(t['kind'])}</td><td>{t['vocab_size']:,}</td>"
                     f"<td>{_fmt(t['renyi_efficiency'], '{:.3f}')}</td><td>{_fmt(t['bytes_per_token'], '{:.2f}')}</td>"
                     f"<td>{t['types_used']:,}</td><td>{t['types_never_produced']:,}</td><td>{t['wins']}</td>"
                     f"<td>{_fmt(t['mb_per_second'], '{:.2f}')}</td></tr>")
    parts.append("</table>")
    india = report["groups"].get("india_8th_schedule")
    if india:
        lw = india.get("language_wins", india["wins"])
        parts.append(f"<h2>Official languages of India</h2><p>Covered {len(india.get('covered', []))} of 22"
                     + (f"; missing: {_e(', '.join(india['missing']))}" if india.get("missing") else "")
                     + ". Languages won: " + _e(", ".join(f"{n} {lw[n]}" for n in sorted(names, key=lambda n: -lw[n])))
                     + ".</p>")
        parts.append(_html_table(report, india["languages"], "nsl", "india"))
        parts.append("<p class='note'>Grey italics: lossy on that language (fewer than 95% of sampled lines decode "
                     "back to the text), not ranked. Green: fewest tokens among the lossless tokenizers.</p>")
    for pid, title, uri in _plots(report):
        parts.append(f"<figure id='{pid}'><img alt='{_e(title)}' src='{uri}'><figcaption class='note'>{_e(title)}"
                     "</figcaption></figure>")
    if report.get("samples"):
        parts.append("<h2>How each tokenizer splits</h2><p class='note'>Alternating colours mark tokens; "
                     "tokens that end inside a character are joined with the next.</p>")
        for s in report["samples"]:
            parts.append(f"<div class='sample'><b>{_e(_lang_label(report, s['language']))}</b>")
            for n in names:
                toks = s["tokens"].get(n, [])
                spans = "".join(f"<span class='t{i % 6}' title='{i}'>{_e(tok)}</span>" for i, tok in enumerate(toks))
                parts.append(f"<div><span class='note'>{_e(n)} — {len(toks)} tokens</span>"
                             f"<div class='split' dir='auto'>{spans}</div></div>")
            parts.append("</div>")
    parts.append("<h2>All languages</h2>")
    for key, label, _ in _METRICS:
        if key == "parity" and not report["pivot"]:
            continue
        parts.append(f"<h3>{_e(label)}</h3>" + _html_table(report, list(report["languages"]), key, f"all-{key}"))
    parts += _html_sections(report, names)
    if report["skipped"]:
        parts.append("<h2>Skipped</h2><ul>" + "".join(f"<li><code>{_e(s['language'])}</code>: {_e(s['reason'])}</li>"
                                                   for s in report["skipped"]) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(report: Mapping[str, Any], codes: Sequence[str], key: str, tid: str) -> str:
    names = list(report["tokenizers"])
    fmt = dict((k, f) for k, _, f in _METRICS)[key]
    rows = [f"<table id='{_e(tid)}'><tr><th class='l'>language</th>" + "".join(f"<th>{_e(n)}</th>" for n in names)
            + "</tr>"]
    for code in codes:
        r = report["languages"][code]
        best = {n for n in names if report["ranks"][code][n] == 1}
        cells = "".join(f"<td class='{'best' if n in best else 'lossy' if report['ranks'][code][n] is None else ''}'>"
                        f"{_fmt(r[n][key], fmt)}</td>" for n in names)
        rows.append(f"<tr><td class='l'>{_e(_lang_label(report, code))}</td>{cells}</tr>")
    rows.append("</table>")
    return "".join(rows)


# ---- optional sections (morphology, variation, productivity, under-trained tokens) -----------------

_MORPH = [("consistency_f1", "morphological consistency F1", "{:.3f}"),
          ("edit_distance", "morphological edit distance (lower is closer)", "{:.2f}"),
          ("boundary_f1", "morpheme-boundary F1", "{:.3f}"),
          ("tokens_per_word", "tokens per word", "{:.2f}")]
_VAR = [("pairs", "pairs", "{:,}"), ("tokens_gb", "tokens GB", "{:,}"), ("tokens_us", "tokens US", "{:,}"),
        ("ratio_gb_over_us", "GB/US", "{:.3f}"), ("pairs_different_length", "pairs that differ", "{:,}"),
        ("gb_longer", "GB longer", "{:,}"), ("us_longer", "US longer", "{:,}")]
_UNDER = [("eligible", "eligible", "{:,}"), ("candidates", "bottom-2% candidates", "{:,}"),
          ("candidates_never_produced", "of them never produced", "{:,}"), ("unreachable", "unreachable", "{:,}"),
          ("undecodable", "undecodable", "{:,}"), ("special", "special", "{:,}")]


def _section_tables(report: Mapping[str, Any], names: list[str]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every optional section present."""
    tables = []
    by_script = {g[len("script:"):]: v for g, v in report["groups"].items() if g.startswith("script:")}
    if by_script:
        key = "parity" if report["pivot"] else "nsl"
        tables.append((f"Mean {key} by script", ["script", "languages"] + names,
                       [[script, str(len(g["languages"]))] + [_fmt(g["mean"][n][key], "{:.2f}") for n in names]
                        for script, g in by_script.items()]))
    morph = report.get("morphology") or {}
    for key, label, fmt in _MORPH:
        if morph:
            tables.append((f"Morphology: {label}", ["language"] + names,
                           [[lang] + [_fmt(morph[lang][n][key], fmt) for n in names] for lang in morph]))
    var = report.get("variation")
    if var:
        tables.append(("British vs American spelling pairs", ["tokenizer"] + [lbl for _, lbl, _ in _VAR],
                       [[n] + [_fmt(var[n][k], f) for k, _, f in _VAR] for n in names]))
    prod = report.get("productivity")
    if prod:
        tables.append(("Subword productivity: mean distinct words per token type", ["language"] + names,
                       [[_lang_label(report, c)] + [_fmt(prod[c][n]["mean_words_per_type"], "{:.2f}") for n in names]
                        for c in prod]))
    under = report.get("undertrained")
    if under:
        tables.append(("Under-trained token candidates (input-embedding norm, bottom 2% of reachable tokens)",
                       ["tokenizer", "threshold"] + [lbl for _, lbl, _ in _UNDER] + ["lowest-norm tokens"],
                       [[n, _fmt(u["threshold"], "{:.4f}")] + [_fmt(u["crosstab"][k], f) for k, _, f in _UNDER]
                        + [" ".join(repr(e["token"]) for e in u["examples"][:12])] for n, u in under.items()]))
    return tables


def _markdown_sections(report: Mapping[str, Any], names: list[str]) -> list[str]:
    lines: list[str] = []
    for title, header, rows in _section_tables(report, names):
        lines += ["", f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _html_sections(report: Mapping[str, Any], names: list[str]) -> list[str]:
    parts = []
    for title, header, rows in _section_tables(report, names):
        parts.append(f"<h2>{_e(title)}</h2><table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"
                     + "".join("<tr>" + "".join(f"<td class='{'l' if i == 0 else ''}'>{_e(c)}</td>"
                                                for i, c in enumerate(row)) + "</tr>" for row in rows) + "</table>")
    return parts
