"""ALTo demo: a mask tokenizer with the adaptive length predictor vs the same tokenizer at a fixed length.

Claim (Wang et al. 2025): with a length predictor + length loss, a TiTok-style mask tokenizer spends
few tokens on simple masks and more on complex ones, using fewer tokens on average than the maximum at
(near-)equal reconstruction; at equal average length it should do at least as well as a fixed length.
Data: `masks` — 32×32 binary masks, half ellipses (simple), half star polygons with 5–16 vertices
(complex); complexity = contour length in pixels. K = 16 latents, VQ 256 × 8-d.
Arms (same model, steps, batches):
  ALTo, λ = 0.02 (random-length warm-up for the first half, then predicted length + length loss);
  fixed length L = round(ALTo's mean test length) of the same seed — the equal-average-length baseline.
(λ = 0.1, the recipe default, collapsed to one length for every mask in a 600-step trial; a λ sweep did
not fit the CPU budget — single-seed trials are quoted in the notes.)
Metrics: test IoU, tokens used (mean and by mask kind), Spearman(tokens used, contour length).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tokensmith.neural.data import masks as make_masks
from tokensmith.neural.demos._harness import aggregate, fmt, markdown_table, plot_images, plot_lines
from tokensmith.neural.recipes import _common as C
from tokensmith.neural.recipes import alto as R

ADA = "ALTo, λ=0.02 (adaptive)"
FIX = "fixed length L (= ALTo's mean, rounded)"


def _metrics(ev: dict, kind: np.ndarray, contour: np.ndarray) -> dict:
    from scipy.stats import spearmanr

    iou, ln = ev["iou"], ev["lengths"].astype(float)
    row = {"iou": float(iou.mean()), "tokens": float(ln.mean()),
           "iou_ellipse": float(iou[kind == 0].mean()), "iou_polygon": float(iou[kind == 1].mean()),
           "tokens_ellipse": float(ln[kind == 0].mean()), "tokens_polygon": float(ln[kind == 1].mean())}
    row["spearman_tokens_contour"] = float(spearmanr(ln, contour).correlation) if ln.std() > 0 else 0.0
    return row


def run(out: Path, *, quick: bool, seeds: int, device: str) -> dict:
    steps, n_train = (500, 1600) if quick else (1500, 1600)
    xtr, _, _ = make_masks(n_train, seed=0)
    xte, kte, cte = make_masks(400, seed=1)
    cfg = R.ALToConfig(length_weight=0.02)
    res = {ADA: [], FIX: []}
    examples = {}
    for s in range(seeds):
        tc = C.TrainConfig(steps=steps, batch_size=32, lr=1e-3, seed=s, device=device)
        t0 = time.time()
        model, info = R.train(cfg, xtr, tc)
        model.cpu()
        ev = R.evaluate(model, xte)
        res[ADA].append(_metrics(ev, kte, cte) | {"train_seconds": info["seconds"]})
        L = int(np.clip(round(float(ev["lengths"].mean())), 1, cfg.max_tokens))
        print(f"[{ADA}] seed {s}: {res[ADA][-1]} ({time.time() - t0:.0f}s)", flush=True)
        if s == 0:
            examples["ALTo recon"] = (R.evaluate_logits(model, xte[:8]) > 0).astype(np.float32)
            examples["ALTo tokens"] = ev["lengths"][:8]
        t0 = time.time()
        fmodel, finfo = R.train(cfg, xtr, tc, fixed_length=L)
        fmodel.cpu()
        fev = R.evaluate(fmodel, xte, k=L)
        res[FIX].append(_metrics(fev, kte, cte) | {"train_seconds": finfo["seconds"], "L": float(L)})
        print(f"[{FIX}] seed {s}: {res[FIX][-1]} ({time.time() - t0:.0f}s)", flush=True)
        if s == 0:
            examples[f"fixed L={L}"] = (R.evaluate_logits(fmodel, xte[:8], k=L) > 0).astype(np.float32)
    agg = {a: aggregate(v) for a, v in res.items()}
    rows = [[a, fmt(agg[a]["tokens"]), fmt(agg[a]["iou"], 3), fmt(agg[a]["tokens_ellipse"]), fmt(agg[a]["tokens_polygon"]),
             fmt(agg[a]["iou_ellipse"], 3), fmt(agg[a]["iou_polygon"], 3),
             fmt(agg[a]["spearman_tokens_contour"], 3) if a != FIX else "— (constant)"] for a in res]
    table = markdown_table(["arm", "tokens used (mean of K=16)", "test IoU", "tokens, ellipses", "tokens, polygons",
                            "IoU, ellipses", "IoU, polygons", "Spearman(tokens, contour)"], rows)
    table += (f"\n\n{n_train} train / 400 test masks (half ellipses, half 5–16-point stars), 32×32; K = 16, VQ 256 × 8-d; "
              f"{steps} steps, batch 32. The fixed arm's L per seed: {[int(r['L']) for r in res[FIX]]}.")
    plot_lines(out / "iou_vs_tokens.png",
               {a: ([agg[a]["tokens"]["mean"]], [agg[a]["iou"]]) for a in res},
               xlabel="tokens used (mean)", ylabel="test IoU", title=f"ALTo vs fixed length, {seeds} seed(s)")
    imgs = {"input": xte[:8, 0]}
    for k, v in examples.items():
        if k != "ALTo tokens":
            imgs[k if k != "ALTo recon" else "ALTo (" + ",".join(str(int(t)) for t in examples["ALTo tokens"]) + " tok)"] = v[:, 0]
    plot_images(out / "reconstructions.png", imgs, title="test masks (seed 0)")

    a, f = agg[ADA], agg[FIX]
    d_iou = a["iou"]["mean"] - f["iou"]["mean"]
    rho = a["spearman_tokens_contour"]["mean"]
    rho_min = min(a["spearman_tokens_contour"]["values"])
    saved = 1 - a["tokens"]["mean"] / cfg.max_tokens
    per_seed = [x - y for x, y in zip(a["iou"]["values"], f["iou"]["values"])]
    kind_gap = [p - e for p, e in zip(a["tokens_polygon"]["values"], a["tokens_ellipse"]["values"])]
    length_ok = min(kind_gap) > 0 and saved > 0.2
    iou_ok = min(per_seed) >= -0.01
    verdict = ("demonstrated" if length_ok and iou_ok and seeds >= 3 else
               "partly shown" if (length_ok or iou_ok) and seeds >= 3 else "not shown") + (
        f": ALTo uses {a['tokens']['mean']:.1f} of 16 tokens ({100 * saved:.0f}% fewer; ellipses "
        f"{a['tokens_ellipse']['mean']:.1f}, polygons {a['tokens_polygon']['mean']:.1f}, polygons more on "
        f"{sum(g > 0 for g in kind_gap)}/{seeds} seeds), Spearman with contour length "
        f"{rho:.2f} (min over seeds {rho_min:.2f}); IoU {a['iou']['mean']:.3f} vs fixed-length {f['iou']['mean']:.3f} "
        f"at equal mean length ({d_iou:+.3f}, worst seed {min(per_seed):+.3f})")
    return {
        "system": "ALTo",
        "claim": "an adaptive length predictor spends tokens by mask complexity and uses fewer tokens on average, "
                 "without losing IoU against a fixed length with the same average",
        "setup": {"data": f"masks 32x32: {n_train} train / 400 test, ellipses vs 5-16-point stars", "K": 16,
                  "quantizer": "VQ 256 x 8-d, l2", "width": 64, "depth": "2+2", "steps": steps, "batch": 32,
                  "warm-up": "first half of the steps with a random prefix length, no length loss"},
        "arms": {k: {"agg": agg[k], "per_seed": v} for k, v in res.items()},
        "table_md": table,
        "headline": {"tokens_saved": saved, "polygon_minus_ellipse_tokens": kind_gap, "spearman_min": rho_min, "iou_gap": d_iou, "iou_gap_worst_seed": min(per_seed),
                     "length_claim": length_ok, "iou_claim": iou_ok},
        "verdict": verdict,
        "notes": ["Single-seed trials before the run (seed 0, 1,500 steps): λ = 0.02 → 5.2 tokens, IoU 0.672; λ = 0.05 → "
                  "3.2 tokens, IoU 0.661; λ = 0.1 (600 steps) → 2 tokens for every mask, IoU 0.543. The same λ = 0.02 model "
                  "forced to 4 / 8 / 16 tokens gave IoU 0.629 / 0.512 / 0.208: after the warm-up the decoder only sees "
                  "short prefixes, so more tokens than it was trained on hurt.",
                  "No SAM-initialised pixel encoder and no image context: masks alone, a 2+2-layer width-64 transformer.",
                  "The MLLM that emits the tokens, GRPO on length and RefCOCO cIoU are Tier 3 and not attempted."],
    }
