"""Shared runner for the TiTok-family demos on 8×8 digits (train 1,498 / test 299, fixed split)."""

from __future__ import annotations

import torch

from tokensmith.neural.data import digits, train_test_split
from tokensmith.neural.demos._harness import progress, run_arms
from tokensmith.neural.recipes import titok as T


def load_digits():
    x, y = digits()
    tr, te = train_test_split(len(x), seed=0)
    return x[tr], y[tr], x[te], y[te]


def run_titok_arms(arms: dict, *, ks=None, steps: int, seeds: int, device: str, data=None, extra=None,
                   log=progress, **train_kw) -> dict:
    """`run_arms` for TiTok-family arms (label → TiTokConfig): train each on `data` = (xtr, ytr, xte, yte)
    (default the digits split), evaluate PSNR at each prefix k in `ks` (None: the arm's full length).

    `extra(model, data) -> dict` adds per-seed metrics (probes...); `train_kw` (lr, quant_warmup, ...)
    go to every arm's TrainConfig. Returns
    {label: {"agg": aggregated metrics, "per_seed": [...], "example": recon images of seed 0, "config": ...}}."""
    data = load_digits() if data is None else data
    xtr, xte = data[0], data[2]
    examples = {}

    def trial(label, cfg, s):
        model, info = T.train(cfg, xtr, T.TrainConfig(steps=steps, seed=s, device=device, **train_kw))
        arm_ks = [k for k in ks if k <= cfg.tokens] if ks is not None and cfg.layout == "1d" else [cfg.tokens]
        ev = T.evaluate(model, xte, arm_ks)
        row = {"psnr": {str(k): v for k, v in ev["psnr"].items()}, "train_seconds": info["seconds"],
               "grad_norm_std": info["grad_norm_std"], "final_loss": info["final_loss"]}
        for key, v in (ev.get("usage") or {}).items():
            row[key] = float(v)
        if extra is not None:
            row.update(extra(model, data))
        if s == 0:
            with torch.no_grad():
                xt = torch.as_tensor(xte[:8], device=next(model.parameters()).device)
                zq, _ = model.encode(xt)
                examples[label] = {k: model.decode(zq, None if k == cfg.tokens else k).clamp(0, 1).cpu().numpy()
                                   for k in arm_ks}
        return row

    return run_arms(arms, trial, seeds=seeds, log=log,
                    arm_info=lambda label, cfg: {"example": examples[label], "config": T.C.config_dict(cfg)})


def mean_image_psnr() -> float:
    """Reference: PSNR of predicting the mean training image for every test image (a model that learned nothing)."""
    xtr, _, xte, _ = load_digits()
    m = torch.as_tensor(xtr.mean(0, keepdims=True)).expand(len(xte), -1, -1, -1)
    return T.C.psnr(m, torch.as_tensor(xte))


def reference_line() -> str:
    return (f"\n\nReference: predicting the mean training image gives {mean_image_psnr():.2f} dB "
            "(what a tokenizer that learned nothing scores).")


def strip_examples(results: dict) -> dict:
    return {k: {kk: vv for kk, vv in v.items() if kk != "example"} for k, v in results.items()}
