"""HoT demo: token pruning (DPC-kNN) + token recovering attention vs the full-length model.

Data: synthetic stick figures (17 joints, 81 frames, sinusoidal limb swings, slow yaw, 2-D view with
noise → root-relative 3-D). Arms: full model (4 blocks on 81 frames); HoT (1 block on 81, prune to 27
by DPC-kNN, 3 blocks on 27, TRA back to 81); ablation with uniform frame sampling instead of DPC-kNN.
Claim (Li et al. 2024): large FLOPs savings at (nearly) equal MPJPE.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from tokensmith.neural.data import stick_figures
from tokensmith.neural.demos._harness import fmt, markdown_table, plot_lines, run_arms
from tokensmith.neural.recipes import hot as R


def _wall_ms(model, x, reps=5) -> float:
    with torch.no_grad():
        model(x)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(x)
    return (time.perf_counter() - t0) / reps * 1000


def run(out: Path, *, quick: bool, seeds: int, device: str) -> dict:
    steps, n_train = (120, 256) if quick else (300, 768)
    x2, x3 = stick_figures(n_train, seed=0)
    t2, t3 = stick_figures(128, seed=1)
    arms = {"full (81 frames in every block)": R.HoTConfig(prune="none"),
            "HoT: TPC (DPC-kNN) + TRA, keep 27": R.HoTConfig(prune="dpc_knn"),
            "uniform sampling + TRA, keep 27": R.HoTConfig(prune="uniform")}
    if quick:
        arms.pop("uniform sampling + TRA, keep 27")

    def trial(a, cfg, s):
        model, info = R.train(cfg, x2, x3, R.TrainConfig(steps=steps, seed=s, device=device))
        dev = next(model.parameters()).device
        return {"mpjpe_mm": R.mpjpe_mm(model, t2, t3), "train_seconds": info["seconds"],
                "forward_ms_batch64": _wall_ms(model, torch.as_tensor(t2[:64], device=dev))}

    res = run_arms(arms, trial, seeds=seeds, arm_info=lambda a, cfg: {
        "gflops_per_clip": R.HoT(cfg).flops() / 1e9, "config": R.C.config_dict(cfg)})
    mean_pose = torch.as_tensor(x3).mean(0, keepdim=True)
    ref_mm = float((mean_pose - torch.as_tensor(t3)).norm(dim=-1).mean() * 1000)
    full = list(arms)[0]
    rows = [[a, f"{res[a]['gflops_per_clip'] * 1000:.2f}",
             f"{100 * (1 - res[a]['gflops_per_clip'] / res[full]['gflops_per_clip']):.0f}%",
             fmt(res[a]["agg"]["mpjpe_mm"], 1), fmt(res[a]["agg"]["forward_ms_batch64"], 1)] for a in arms]
    table = markdown_table(["model", "MFLOPs / clip (analytic)", "FLOPs saved", "test MPJPE mm",
                            "forward ms (batch 64, CPU, noisy)"], rows)
    table += (f"\n\nReference: predicting the mean training pose sequence gives {ref_mm:.1f} mm "
              "(a model that learned nothing).")
    plot_lines(out / "mpjpe_vs_flops.png", {a: ([res[a]["gflops_per_clip"] * 1000], [res[a]["agg"]["mpjpe_mm"]])
                                             for a in arms},
               xlabel="MFLOPs per clip", ylabel="test MPJPE (mm)", title=f"HoT on stick figures, {seeds} seed(s)")
    hot = "HoT: TPC (DPC-kNN) + TRA, keep 27"
    d = res[hot]["agg"]["mpjpe_mm"]["mean"] - res[full]["agg"]["mpjpe_mm"]["mean"]
    saved = 1 - res[hot]["gflops_per_clip"] / res[full]["gflops_per_clip"]
    rel = d / res[full]["agg"]["mpjpe_mm"]["mean"]
    return {
        "system": "HoT",
        "claim": "pruning to representative frames and recovering by cross-attention saves FLOPs at ~equal error",
        "setup": {"data": f"stick_figures: {n_train} train / 128 test clips, 81 frames, 17 joints",
                  "steps": steps, "width": 64, "blocks": 4, "prune_at": 1, "keep": 27},
        "arms": res,
        "table_md": table,
        "headline": {"mean_pose_reference_mm": ref_mm, "flops_saved": saved, "mpjpe_delta_mm": d, "mpjpe_delta_relative": rel},
        "verdict": ("demonstrated" if saved > 0.3 and rel < 0.10 else "not shown") +
                   f": {100 * saved:.0f}% FLOPs saved for {d:+.1f} mm MPJPE ({100 * rel:+.1f}%)",
        "notes": ["Per-frame tokens instead of MixSTE's per-joint tokens; Human3.6M numbers are not reproducible here."],
    }
