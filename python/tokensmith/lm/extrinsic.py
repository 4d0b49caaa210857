"""Compare tokenizers extrinsically: one tiny LM per tokenizer, same bytes, bits per byte.

Writes `results.json` (config, rows, learning curves), `results.md` (the table) and `curves.png`
(validation bits per byte against bytes seen) into `out_dir`. Only rank 0 writes under DDP.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from tokensmith._io import atomic_write
from tokensmith.errors import ConfigError
from tokensmith.lm.config import LMConfig
from tokensmith.lm.data import encode_chunks, make_chunks, split_texts

__all__ = ["compare", "format_table", "plot_curves"]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def compare(tokenizers: Mapping[str, Any], texts: Sequence[str], out_dir: str | os.PathLike | None = None, *,
            config: LMConfig = LMConfig(), save_models: bool = False,
            log: Callable[[str], None] | None = _stderr) -> list[dict]:
    """Train and evaluate one tiny LM per tokenizer on the same chunks; return one row per tokenizer."""
    from tokensmith.evaluate.loaders import as_adapter
    from tokensmith.lm.train import dist_info, evaluate_bpb, inference_speed, save_lm, train_lm

    if not tokenizers:
        raise ConfigError("give at least one tokenizer to compare")
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 talks
        log = None
    train_texts, val_texts = split_texts(list(texts), config.val_fraction)
    train_chunks = make_chunks(train_texts, config.chunk_bytes)
    val_chunks = make_chunks(val_texts, config.chunk_bytes)
    rows: list[dict] = []
    curves: dict[str, list[dict]] = {}
    for name, tok in tokenizers.items():
        adapter = as_adapter(tok, name)
        t0 = time.perf_counter()
        tr = encode_chunks(adapter.encode_batch, train_chunks, adapter.vocab_size)
        va = encode_chunks(adapter.encode_batch, val_chunks, adapter.vocab_size)
        enc_s = time.perf_counter() - t0
        if log:
            log(f"[lm] {name}: vocab {adapter.vocab_size}, {tr.total_tokens} train tokens, "
                f"{tr.total_bytes / max(tr.total_tokens, 1):.2f} bytes/token")
        t0 = time.perf_counter()
        model, history = train_lm(config, tr, va, log=(lambda p, n=name: log(
            f"[lm] {n} step {p['step']}: train {p['train_bpb']:.3f} val {p['val_bpb']:.3f} bpb")) if log else None)
        train_s = time.perf_counter() - t0
        speed = inference_speed(model, va)
        final = evaluate_bpb(model, va)  # all held-apart chunks (curve points use the first eval_chunks)
        rows.append({
            "tokenizer": name, "vocab_size": adapter.vocab_size,
            "params": model.num_params(), "params_non_embedding": model.num_params(embeddings=False),
            "n_ctx": model.n_ctx, "val_bytes": va.total_bytes, "val_tokens": va.total_tokens,
            "bytes_per_token": va.total_bytes / max(va.total_tokens, 1),
            "val_bpb": final, "train_seconds": train_s, "encode_seconds": enc_s,
            "tokens_per_s": speed["tokens_per_s"], "bytes_per_s": speed["bytes_per_s"],
        })
        curves[name] = history
        if save_models and out_dir is not None and dist_info()[0] == 0:
            save_lm(model, Path(out_dir) / "models" / _safe(name), meta={"tokenizer": name})
        if out_dir is not None and dist_info()[0] == 0:  # after every tokenizer: a crash keeps what is done
            _write(Path(out_dir), config, train_chunks, val_chunks, rows, curves)
    return rows


def _write(out: Path, config: LMConfig, train_chunks, val_chunks, rows, curves) -> None:
    """results.json, results.md and curves.png, each written atomically."""
    if rows:
        out.mkdir(parents=True, exist_ok=True)
        payload = {"config": config.to_dict(), "train_chunks": len(train_chunks), "val_chunks": len(val_chunks),
                   "train_bytes": sum(len(c.encode()) for c in train_chunks), "rows": rows, "curves": curves}
        with atomic_write(out / "results.json") as f:
            json.dump(payload, f, indent=1)
        with atomic_write(out / "results.md") as f:
            f.write(format_table(rows) + "\n")
        plot_curves(curves, out / "curves.png")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table of `compare` rows."""
    head = ("| tokenizer | vocab | params (non-emb) | bytes/token | val bits/byte | train s | tokens/s | bytes/s |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['tokenizer']} | {r['vocab_size']} | {r['params'] / 1e6:.2f}M "
                     f"({r['params_non_embedding'] / 1e6:.2f}M) | {r['bytes_per_token']:.2f} | {r['val_bpb']:.3f} | "
                     f"{r['train_seconds']:.0f} | {r['tokens_per_s']:.0f} | {r['bytes_per_s']:.0f} |")
    return "\n".join(lines)


def plot_curves(curves: Mapping[str, list[dict]], path: str | os.PathLike) -> Path | None:
    """Validation bits per byte against bytes seen, one line per tokenizer (PNG, atomically written)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, hist in curves.items():
        if hist:
            ax.plot([p["bytes_seen"] / 1e6 for p in hist], [p["val_bpb"] for p in hist], marker="o", label=name)
    ax.set_xlabel("training bytes seen (MB)")
    ax.set_ylabel("validation bits per byte")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)
    return Path(path)
