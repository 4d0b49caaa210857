"""Render docs/neural/<demo>.md (+ copy its PNGs) from a demo's result.json.

    python -m tokensmith.neural.demos._docs RESULT_DIR docs/neural [--commentary FILE]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def render(result_dir: Path, docs: Path, commentary: str = "") -> Path:
    r = json.loads((result_dir / "result.json").read_text(encoding="utf-8"))
    from tokensmith.neural.registry import get

    entry = get(r["system"])
    name = entry.demo
    img_dir = docs / name
    img_dir.mkdir(parents=True, exist_ok=True)
    pngs = sorted(result_dir.glob("*.png"))
    for p in pngs:
        shutil.copy(p, img_dir / p.name)
    mode = "quick" if r["quick"] else "full"
    lines = [
        f"# {r['system']} — CPU demonstration",
        "",
        f"**Claim tested:** {r['claim']}.",
        "",
        f"**Run:** `tokensmith neural demo {name} --out DIR{' --quick' if r['quick'] else ''} --seeds {r['seeds']}` "
        f"({mode} mode, {r['seeds']} seeds, {r['seconds']:.0f} s wall on a shared 2-core CPU, "
        f"torch {r['env']['torch']}, {r['env']['threads']} thread). Numbers are mean ± std over seeds.",
        "",
        "**Setup:** " + "; ".join(f"{k}: {v}" for k, v in r.get("setup", {}).items()) + ".",
        "",
        r["table_md"],
        "",
        f"**Verdict recorded by the run:** {r['verdict']}",
        "",
    ]
    if commentary:
        lines += ["## Reading", "", commentary.strip(), ""]
    if r.get("notes"):
        lines += ["## Limits", ""] + [f"- {n}" for n in r["notes"]] + [""]
    lines += [f"![{p.stem}]({name}/{p.name})" for p in pngs] + [""]
    out = docs / f"{name}.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    text = ""
    if "--commentary" in args:
        i = args.index("--commentary")
        text = Path(args[i + 1]).read_text(encoding="utf-8")
        del args[i:i + 2]
    print(render(Path(args[0]), Path(args[1]), text))
