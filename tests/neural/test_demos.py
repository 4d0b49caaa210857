"""Quick demos with asserted *relative* outcomes (the claims are relative to a baseline)."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)


def test_run_arms_runs_each_arm_over_its_seeds_in_order():
    """The demos' loop: arm by arm, seeds 0..n-1 each, rows aggregated, arm_info added after an arm's seeds."""
    from tokensmith.neural.demos._harness import run_arms

    calls, lines = [], []

    def trial(label, cfg, seed):
        calls.append((label, seed))
        return {"loss": cfg + seed, "nested": {"a": float(seed)}}

    res = run_arms({"x": 1.0, "y": 10.0}, trial, seeds=2, log=lines.append,
                   arm_info=lambda label, cfg: {"after": list(calls)})
    assert calls == [("x", 0), ("x", 1), ("y", 0), ("y", 1)]
    assert list(res) == ["x", "y"] and list(res["y"]) == ["agg", "per_seed", "after"]
    assert res["x"]["after"] == [("x", 0), ("x", 1)]
    assert res["y"]["agg"]["loss"]["mean"] == 10.5 and res["y"]["agg"]["nested"]["a"]["values"] == [0.0, 1.0]
    assert res["x"]["per_seed"][1] == {"loss": 2.0, "nested": {"a": 1.0}}
    assert lines[0].startswith("[x] seed 0: loss 1, nested {a: 0}")


def test_tail_drop_beats_no_drop_on_short_prefixes():
    """One-D-Piece: with tail drop a 1-token prefix reconstructs far better than plain TiTok's."""
    from tokensmith.neural.demos._image_tokens import load_digits
    from tokensmith.neural.recipes import titok as T

    xtr, _, xte, _ = load_digits()
    psnr = {}
    for mode in ("tail_drop", "none"):
        cfg = T.TiTokConfig(width=32, enc_depth=1, dec_depth=1, num_tokens=8, length_mode=mode)
        model, _ = T.train(cfg, xtr, T.TrainConfig(steps=150, batch_size=64, seed=0))
        psnr[mode] = T.evaluate(model, xte, [1, 8])["psnr"]
    assert psnr["tail_drop"][1] > psnr["none"][1] + 1.0, psnr
    assert psnr["none"][8] > psnr["none"][1], psnr  # plain TiTok needs its tail


def test_twm_demo_end_to_end(quick_demo):
    """The CLI writes result.json + plots; NNT ids never change while a learned VQ's do."""
    result = quick_demo("twm", "codebook_growth.png")
    assert result["headline"]["nnt_id_change"] == 0.0 < result["headline"]["best_vq_id_change"]


def test_flextok_quick_demo_orders_tokens(quick_demo):
    """FlexTok quick demo: nested dropout makes the 1-token prefix far better than no dropout."""
    result = quick_demo("flextok", "psnr_vs_prefix.png")
    assert result["headline"]["gain_vs_no_dropout_at_k1_db"] > 1.0, result["headline"]


def test_softvq_quick_demo_learns(quick_demo):
    """SoftVQ quick demo (200 steps): the soft bottleneck leaves the mean image and keeps more codes alive
    than hard VQ (which at this budget may not have left the mean image yet)."""
    result = quick_demo("softvq", "psnr_vs_tau.png")
    arms = result["arms"]
    soft, hard = arms["SoftVQ τ=0.07"]["agg"], arms["hard VQ (STE)"]["agg"]
    assert soft["psnr"]["8"]["mean"] > 12.0, result["table_md"]  # mean image: 11.44 dB
    assert soft["dead_code_fraction"]["mean"] < hard["dead_code_fraction"]["mean"], result["table_md"]


def test_titok_quick_demo_no_codebook_collapse(quick_demo):
    """TiTok quick demo (1-D K=4 vs 2-D grid at 32 bits): with the quantizer warm-up and dead-code
    restart neither arm collapses onto a few codes, and the result names both arms."""
    result = quick_demo("titok", "psnr_vs_bits.png")
    arms = result["arms"]
    assert set(arms) == {"1-D, K=4", "2-D grid, 4 tokens"}
    for a in arms.values():
        assert a["agg"]["codes_used"]["mean"] > 50, result["table_md"]
        assert np.isfinite(a["agg"]["psnr"]["4"]["mean"])
    assert "psnr_gain_1d_minus_grid_at_4_tokens_db" in result["headline"]
