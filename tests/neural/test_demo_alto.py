"""ALTo demo (quick): the adaptive length predictor spends fewer than K tokens and varies them per mask;
the fixed-length baseline is trained and evaluated at ALTo's mean length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def test_fixed_length_training_keeps_exactly_L_tokens():
    from tokensmith.errors import ConfigError
    from tokensmith.neural.data import masks
    from tokensmith.neural.recipes import _common as C
    from tokensmith.neural.recipes import alto as R

    x = masks(16, seed=0)[0]
    cfg = R.ALToConfig(width=32, depth=1)
    model, _ = R.train(cfg, x, C.TrainConfig(steps=3, batch_size=8), fixed_length=5)
    ev = R.evaluate(model, x, k=5)
    assert (ev["lengths"] == 5).all() and ev["iou"].shape == (16,)
    # only the first 5 quantized latents reach the decoder
    zq, _, _, _ = model.encode(torch.as_tensor(x), 5)
    assert torch.all(zq[:, 5:] == 0)
    with pytest.raises(ConfigError):
        R.train(cfg, x, C.TrainConfig(steps=1), fixed_length=0)


def test_alto_quick_demo(quick_demo):
    from tokensmith.neural.demos.alto import ADA, FIX

    r = quick_demo("alto", "iou_vs_tokens.png", "reconstructions.png")
    assert r["system"] == "ALTo"
    ada, fix = r["arms"][ADA]["agg"], r["arms"][FIX]["agg"]
    # adaptive: well under K = 16 tokens on average, and not one length for every mask
    assert 1 < ada["tokens"]["mean"] < 0.8 * 16
    assert ada["tokens_polygon"]["mean"] != ada["tokens_ellipse"]["mean"]
    # (whether the stars get *more* tokens is the paper's claim; the 3-seed run does not support it, so it is
    # reported in docs/neural/alto.md, not asserted)
    # the baseline is trained and evaluated at ALTo's mean length (equal average length)
    L = r["arms"][FIX]["per_seed"][0]["L"]
    assert L == np.clip(round(ada["tokens"]["mean"]), 1, 16) == fix["tokens"]["mean"]
    assert fix["tokens_polygon"]["mean"] == fix["tokens_ellipse"]["mean"] == L
    # both learned something: stars are harder than ellipses for both
    for arm in (ada, fix):
        assert arm["iou"]["mean"] > 0.4
        assert arm["iou_ellipse"]["mean"] > arm["iou_polygon"]["mean"]
