"""Demo harness: arms × seeds loop, mean ± std, result.json, Markdown table and plots.

A demo module exposes `run(out: Path, *, quick: bool, seeds: int, device: str) -> dict` and uses
the helpers here (`run_arms` for its training loop); `tokensmith neural demo <system>` and the tests
call `run_demo`.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError


def mean_std(values: Iterable[float]) -> dict:
    v = np.asarray(list(values), dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "values": [float(a) for a in v], "n": int(len(v))}


def fmt(ms: dict, digits: int = 2) -> str:
    if ms["n"] > 1:
        return f"{ms['mean']:.{digits}f} ± {ms['std']:.{digits}f}"
    return f"{ms['mean']:.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def aggregate(per_seed: list[dict]) -> dict:
    """[{metric: value}] over seeds → {metric: mean_std}; nested dicts are aggregated key by key."""
    out = {}
    for key in per_seed[0]:
        vals = [r[key] for r in per_seed]
        if isinstance(vals[0], dict):
            out[key] = aggregate(vals)
        elif isinstance(vals[0], (int, float)):
            out[key] = mean_std(vals)
    return out


def progress(msg: str) -> None:
    """The demos' default progress log: one line to stdout, flushed (runs take minutes)."""
    print(msg, flush=True)


def run_arms(arms: Mapping[str, Any], trial: Callable[[str, Any, int], dict], *, seeds: int,
             arm_info: Callable[[str, Any], dict] | None = None, log: Callable[[str], None] = progress) -> dict:
    """Every arm over seeds 0 … seeds-1: `trial(label, cfg, seed)` trains and evaluates one model and
    returns its metrics row; the rows of an arm are aggregated with `aggregate`.

    Arms run one after the other, each over all its seeds, in the order of `arms` (a demo's RNG
    order). `arm_info(label, cfg)`, called once an arm's seeds are done, adds entries to that arm's
    result (default: its config). Returns {label: {"agg": ..., "per_seed": [rows], **arm_info}}: with
    rows {"loss": 1.0 + seed} and 2 seeds, result[label]["agg"]["loss"]["mean"] == 1.5.
    """
    if arm_info is None:
        from tokensmith.neural.recipes._common import config_dict

        def arm_info(label, cfg):
            return {"config": config_dict(cfg)}

    results = {}
    for label, cfg in arms.items():
        per_seed = []
        for s in range(seeds):
            t0 = time.time()
            per_seed.append(trial(label, cfg, s))
            log(f"[{label}] seed {s}: {_brief(per_seed[-1])} ({time.time() - t0:.0f}s)")
        results[label] = {"agg": aggregate(per_seed), "per_seed": per_seed, **arm_info(label, cfg)}
    return results


def _brief(row: dict) -> str:
    """A metrics row for a progress line, floats to 4 digits: {"psnr": {"8": 17.126}} → "psnr {8: 17.13}"."""
    def one(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {one(x)}" for k, x in v.items()) + "}"
        return str(v)

    return ", ".join(f"{k} {one(v)}" for k, v in row.items())


def env_info(device: str) -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "device": device,
            "threads": torch.get_num_threads(), "machine": platform.machine()}


def write_result(out: Path, result: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "result.json") as f:
        json.dump(result, f, indent=2, sort_keys=False, default=_json_default)
    if result.get("table_md"):
        with atomic_write(out / "table.md") as f:
            f.write(result["table_md"] + "\n")
    return out / "result.json"


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def plot_lines(path: Path, series: dict, *, xlabel: str, ylabel: str, title: str, logx: bool = False) -> Path:
    """series: {label: (xs, mean_std list)} → line plot with ±std bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=110)
    for label, (xs, stats) in series.items():
        m = np.array([s["mean"] for s in stats])
        s = np.array([s["std"] for s in stats])
        ax.plot(xs, m, marker="o", label=label)
        ax.fill_between(xs, m - s, m + s, alpha=0.2)
    if logx:
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_images(path: Path, rows: dict, *, title: str = "") -> Path:
    """rows: {label: array (n, H, W) in [0,1]} → a grid, one row per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(labels), n, figsize=(n * 0.9, len(labels) * 0.95), dpi=100, squeeze=False)
    for r, lab in enumerate(labels):
        for c in range(n):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(rows[lab]):
                img = np.asarray(rows[lab][c])
                if img.ndim == 3 and img.shape[0] in (1, 3):
                    img = img.transpose(1, 2, 0)
                ax.imshow(np.clip(img.squeeze(), 0, 1), cmap="gray", vmin=0, vmax=1)
        axes[r][0].set_title(lab, fontsize=7, loc="left")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def run_demo(system: str, out: str | Path, *, quick: bool = False, seeds: int | None = None,
             device: str = "cpu", threads: int | None = 1) -> dict:
    """Run the demo of `system` (a registry name), write `out/result.json` and plots, return the result."""
    import torch

    from tokensmith.neural.registry import get

    entry = get(system)
    if not entry.demo:
        raise ConfigError(f"{system} has no runnable demo ({entry.status}: {entry.why}); see `tokensmith neural list`")
    if threads:
        torch.set_num_threads(threads)
    seeds = seeds or (1 if quick else 3)
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    module = importlib.import_module(f"tokensmith.neural.demos.{entry.demo}")
    out = Path(out)
    t0 = time.time()
    result = module.run(out, quick=quick, seeds=seeds, device=device)
    result.setdefault("system", entry.name)
    result["quick"] = quick
    result["seeds"] = seeds
    result["seconds"] = round(time.time() - t0, 1)
    result["env"] = env_info(device)
    write_result(out, result)
    return result
