"""ImageFolder demo (quick): two product branches use their codebooks at equal bits (168 bits per image)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)


def test_equal_bits_between_arms():
    from tokensmith.neural.demos.imagefolder import arms

    bits = {a: cfg.bits for a, cfg in arms(quick=False).items()}
    assert len(set(bits.values())) == 1 and next(iter(bits.values())) == 168, bits


def test_imagefolder_quick_demo(quick_demo):
    from tokensmith.neural.demos.imagefolder import BASE, IF

    r = quick_demo("imagefolder", "reconstructions.png")
    assert r["system"] == "ImageFolder"
    base, fold = r["arms"][BASE]["agg"], r["arms"][IF]["agg"]
    # both learned far beyond the mean image
    assert base["psnr"]["mean"] > r["headline"]["mean_image_psnr"] + 2
    # equal bits: two 16-code branches use their codebooks, one 256-code branch does not
    assert fold["codes_used_frac"]["mean"] > 2 * base["codes_used_frac"]["mean"]
    # (whether ImageFolder also reconstructs *better* is the paper's claim; the 3-seed run does not support it
    # (+0.04 dB, 1/3 seeds), so it is reported in docs/neural/imagefolder.md, not asserted; only: not far worse)
    assert fold["psnr"]["mean"] > base["psnr"]["mean"] - 1.0
    # every branch's tokens carry class information (10 classes: chance 0.1)
    assert min(fold["probe_branch0"]["mean"], fold["probe_branch1"]["mean"]) > 0.5
