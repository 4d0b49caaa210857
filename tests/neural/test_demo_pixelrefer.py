"""PixelRefer SAOT demo (quick): scale-adaptive crops give small objects a full, informative token set."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)


def test_part_objects_are_deterministic_and_span_sizes():
    from tokensmith.neural.data.synthetic import part_objects

    a = part_objects(40, seed=3)
    b = part_objects(40, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    images, masks, colours, areas = a
    assert images.shape == (40, 3, 64, 64) and masks.shape == (40, 64, 64) and colours.shape == (40, 4, 3)
    assert areas.min() < 50 and areas.max() > 400  # small and large objects both present
    np.testing.assert_array_equal(areas, masks.reshape(40, -1).sum(1))
    # every part colour is painted inside the mask
    i = int(areas.argmax())
    inside = images[i][:, masks[i]].T
    for c in colours[i]:
        assert (np.abs(inside - c).sum(1) < 1e-6).any()


def test_pixelrefer_quick_demo(quick_demo):
    r = quick_demo("pixelrefer", "tokens_vs_area.png", "recall_vs_area.png")
    assert r["system"] == "PixelRefer (SAOT)"
    saot = r["arms"]["SAOT (scale-adaptive crop + masked k-means)"]["agg"]
    grid = r["arms"]["fixed grid (masked k-means on the 16×16 image grid)"]["agg"]
    small, large = "< 50 px (< 3 patches)", "≥ 800 px"
    # token count: the fixed grid's grows with area (few tokens for small objects); SAOT's stays at the budget
    assert grid["spearman_tokens_area"]["mean"] > 0.6
    assert grid[f"tokens {small}"]["mean"] < 3 < 7 < saot[f"tokens {small}"]["mean"]
    assert abs(saot[f"tokens {large}"]["mean"] - saot[f"tokens {small}"]["mean"]) < 1
    # feature recall of small objects: SAOT keeps their parts, the grid's background-dominated patches do not
    assert saot[f"recall {small}"]["mean"] > grid[f"recall {small}"]["mean"] + 0.4
    # on large objects both see the parts
    assert saot[f"recall {large}"]["mean"] > 0.8 and grid[f"recall {large}"]["mean"] > 0.8
