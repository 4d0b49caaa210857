"""PixelRefer SAOT demo: scale-adaptive crop + masked k-means object tokens vs fixed-grid masked pooling.

Claim (PixelRefer, Alibaba DAMO 2025): resizing each object's crop so that it covers about
`budget × patches_per_token` patches before masked k-means gives every object — small ones included —
a full, informative set of object tokens, whereas pooling on the fixed image patch grid gives a small
object one or two patches dominated by background.
Data: `part_objects` — 64×64 RGB images with one disc of log-uniform radius 1.5–22 px cut into 4
coloured sectors on a dark textured background. Arms (same features = raw 4×4 RGB patches, same
budget of 8 tokens, same 5-iteration masked k-means): SAOT (`adaptive=True`) vs fixed grid
(`adaptive=False`, the full-image 16×16 patch grid). Metrics per object: number of tokens; part-colour
recall = fraction of the 4 sector colours matched by some token's mean colour within 0.25 (RGB L2).
No training: seeds change the objects and the k-means initialisation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from tokensmith.neural.data.synthetic import part_objects
from tokensmith.neural.demos._harness import aggregate, fmt, markdown_table, mean_std, plot_lines
from tokensmith.neural.recipes.pixelrefer import SAOTConfig, object_tokens

BUDGET = 8
TAU = 0.25
BINS = [(0, 50), (50, 200), (200, 800), (800, 1e9)]
BIN_NAMES = ["< 50 px (< 3 patches)", "50–200 px", "200–800 px", "≥ 800 px"]
SAOT = "SAOT (scale-adaptive crop + masked k-means)"
GRID = "fixed grid (masked k-means on the 16×16 image grid)"


def _token_colours(tokens: torch.Tensor, patch: int) -> np.ndarray:
    """(T, 3·p·p) raw-patch tokens (channel-major, see recipes.pixelrefer._patchify) → (T, 3) mean colour."""
    return tokens.reshape(len(tokens), 3, patch * patch).mean(-1).numpy()


def evaluate(images, masks, colours, areas, cfg: SAOTConfig) -> dict:
    counts, recalls = [], []
    for img, m, cols in zip(images, masks, colours):
        out = object_tokens(torch.as_tensor(img), torch.as_tensor(m), cfg)
        tc = _token_colours(out["tokens"], cfg.patch_size)
        d = np.linalg.norm(cols[:, None] - tc[None], axis=-1).min(1)
        counts.append(len(tc))
        recalls.append(float((d < TAU).mean()))
    counts, recalls = np.array(counts, float), np.array(recalls)
    row = {"tokens_mean": float(counts.mean()), "recall_mean": float(recalls.mean())}
    for (lo, hi), name in zip(BINS, BIN_NAMES):
        sel = (areas >= lo) & (areas < hi)
        row[f"tokens {name}"] = float(counts[sel].mean()) if sel.any() else float("nan")
        row[f"recall {name}"] = float(recalls[sel].mean()) if sel.any() else float("nan")
    from scipy.stats import spearmanr

    row["spearman_tokens_area"] = float(spearmanr(counts, areas).correlation) if counts.std() > 0 else 0.0
    return row


def run(out: Path, *, quick: bool, seeds: int, device: str) -> dict:
    n = 160 if quick else 400
    arms = {SAOT: SAOTConfig(tokens=BUDGET, adaptive=True), GRID: SAOTConfig(tokens=BUDGET, adaptive=False)}
    res = {a: [] for a in arms}
    for s in range(seeds):
        images, masks, colours, areas = part_objects(n, seed=1000 + s)
        for a, cfg in arms.items():
            torch.manual_seed(s)
            t0 = time.time()
            row = evaluate(images, masks, colours, areas, cfg)
            row["seconds"] = time.time() - t0
            res[a].append(row)
            print(f"[{a}] seed {s}: {row}", flush=True)
    agg = {a: aggregate(res[a]) for a in arms}
    rows = []
    for name in BIN_NAMES:
        rows.append([name] + [fmt(agg[a][f"tokens {name}"]) for a in arms] + [fmt(agg[a][f"recall {name}"], 3) for a in arms])
    rows.append(["all objects"] + [fmt(agg[a]["tokens_mean"]) for a in arms] + [fmt(agg[a]["recall_mean"], 3) for a in arms])
    short = {SAOT: "SAOT", GRID: "fixed grid"}
    table = markdown_table(["object area"] + [f"tokens, {short[a]}" for a in arms] + [f"part recall, {short[a]}" for a in arms],
                           rows)
    table += ("\n\n" + markdown_table(["arm", "Spearman(tokens, area)"],
                                      [[a, fmt(agg[a]["spearman_tokens_area"], 3)] for a in arms]))
    table += (f"\n\nBudget {BUDGET} tokens per object; part recall = share of the 4 sector colours matched by a "
              f"token's mean colour within {TAU} (RGB L2). {n} objects per seed.")
    xs = list(range(len(BIN_NAMES)))
    plot_lines(out / "tokens_vs_area.png", {short[a]: (xs, [agg[a][f"tokens {b}"] for b in BIN_NAMES]) for a in arms},
               xlabel="object area bin (0: <50 px, 1: 50-200, 2: 200-800, 3: >=800)", ylabel="object tokens",
               title=f"SAOT vs fixed grid: tokens per object, budget {BUDGET}, {seeds} seed(s)")
    plot_lines(out / "recall_vs_area.png", {short[a]: (xs, [agg[a][f"recall {b}"] for b in BIN_NAMES]) for a in arms},
               xlabel="object area bin (0: <50 px, 1: 50-200, 2: 200-800, 3: >=800)", ylabel="part-colour recall",
               title=f"SAOT vs fixed grid: feature recall, {seeds} seed(s)")
    small = BIN_NAMES[0]
    r_s, r_g = agg[SAOT][f"recall {small}"], agg[GRID][f"recall {small}"]
    t_s, t_g = agg[SAOT][f"tokens {small}"], agg[GRID][f"tokens {small}"]
    per_seed_gap = [a - b for a, b in zip(r_s["values"], r_g["values"])]
    large = BIN_NAMES[-1]
    d_large = agg[SAOT][f"recall {large}"]["mean"] - agg[GRID][f"recall {large}"]["mean"]
    ok = min(per_seed_gap) > 0.1 and t_s["mean"] > t_g["mean"] and seeds >= 3
    verdict = ("demonstrated" if ok else "not shown") + (
        f": small objects (< 50 px) get {t_s['mean']:.1f} tokens with SAOT vs {t_g['mean']:.1f} on the fixed grid and "
        f"part recall {r_s['mean']:.3f} vs {r_g['mean']:.3f} (every seed +{min(per_seed_gap):.3f} or more); "
        f"on large objects the recall gap is {d_large:+.3f}")
    return {
        "system": "PixelRefer (SAOT)",
        "claim": "scale-adaptive crop before masked k-means gives small objects a full set of informative object "
                 "tokens where fixed-grid masked pooling gives them one or two background-dominated tokens",
        "setup": {"data": f"part_objects 64x64 RGB, one 4-sector disc of radius 1.5-22 px (log-uniform), {n} per seed",
                  "features": "raw 4x4 RGB patches (no pretrained encoder)", "budget": BUDGET,
                  "patches_per_token": 4, "margin": 0.1, "kmeans_iters": 5},
        "arms": {a: {"agg": agg[a], "per_seed": res[a]} for a in arms},
        "table_md": table,
        "headline": {"small_recall_saot": r_s["mean"], "small_recall_grid": r_g["mean"], "small_tokens_saot": t_s["mean"],
                     "small_tokens_grid": t_g["mean"], "large_recall_gap": d_large,
                     "recall_gap_small_per_seed": mean_std(per_seed_gap)},
        "verdict": verdict,
        "notes": ["SAOT's token count is the budget for every object by construction (the crop is resized so the object "
                  "covers budget x patches_per_token patches); the fixed grid's count grows with the area and "
                  "saturates at the budget.",
                  "Features are raw pixel patches, not a vision encoder's; part-colour recall stands in for "
                  "'the object tokens keep the object's details'. The MLLM that reads the tokens and the region "
                  "benchmarks are Tier 3 and not attempted."],
    }
