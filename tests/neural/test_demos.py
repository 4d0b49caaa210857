"""Quick demos with asserted *relative* outcomes (the claims are relative to a baseline)."""

from __future__ import annotations

import json

import numpy as np
import torch

torch.set_num_threads(1)


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


def test_twm_demo_end_to_end(tmp_path):
    """The CLI writes result.json + plots; NNT ids never change while a learned VQ's do."""
    from tokensmith.cli import main

    assert main(["neural", "demo", "twm", "--out", str(tmp_path), "--quick"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["quick"] and result["seeds"] == 1
    assert result["headline"]["nnt_id_change"] == 0.0 < result["headline"]["best_vq_id_change"]
    assert (tmp_path / "codebook_growth.png").stat().st_size > 1000
    assert (tmp_path / "table.md").read_text().startswith("|")


def test_flextok_quick_demo_orders_tokens(tmp_path):
    """FlexTok quick demo: nested dropout makes the 1-token prefix far better than no dropout."""
    from tokensmith.cli import main

    assert main(["neural", "demo", "flextok", "--out", str(tmp_path), "--quick"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["quick"] and result["seeds"] == 1
    assert result["headline"]["gain_vs_no_dropout_at_k1_db"] > 1.0, result["headline"]
    assert (tmp_path / "psnr_vs_prefix.png").stat().st_size > 1000


def test_softvq_quick_demo_learns(tmp_path):
    """SoftVQ quick demo (200 steps): the soft bottleneck leaves the mean image and keeps more codes alive
    than hard VQ (which at this budget may not have left the mean image yet)."""
    from tokensmith.cli import main

    assert main(["neural", "demo", "softvq", "--out", str(tmp_path), "--quick"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    arms = result["arms"]
    soft, hard = arms["SoftVQ τ=0.07"]["agg"], arms["hard VQ (STE)"]["agg"]
    assert soft["psnr"]["8"]["mean"] > 12.0, result["table_md"]  # mean image: 11.44 dB
    assert soft["dead_code_fraction"]["mean"] < hard["dead_code_fraction"]["mean"], result["table_md"]
    assert (tmp_path / "psnr_vs_tau.png").stat().st_size > 1000


def test_titok_quick_demo_no_codebook_collapse(tmp_path):
    """TiTok quick demo (1-D K=4 vs 2-D grid at 32 bits): with the quantizer warm-up and dead-code
    restart neither arm collapses onto a few codes, and the result names both arms."""
    from tokensmith.cli import main

    assert main(["neural", "demo", "titok", "--out", str(tmp_path), "--quick"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    arms = result["arms"]
    assert set(arms) == {"1-D, K=4", "2-D grid, 4 tokens"}
    for a in arms.values():
        assert a["agg"]["codes_used"]["mean"] > 50, result["table_md"]
        assert np.isfinite(a["agg"]["psnr"]["4"]["mean"])
    assert "psnr_gain_1d_minus_grid_at_4_tokens_db" in result["headline"]
    assert (tmp_path / "psnr_vs_bits.png").stat().st_size > 1000
