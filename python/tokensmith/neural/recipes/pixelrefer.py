"""PixelRefer's scale-adaptive object tokenizer (SAOT) — "PixelRefer: A Unified Framework for
Spatio-Temporal Object Referring" (Alibaba DAMO 2025; `mm_utils.py`, `model/region_encoder.py`).

Training-free part of the pipeline: (1) **scale-adaptive crop** — crop the object's box with a
margin and resize so the object covers ≈ `tokens × patches_per_token` patches, so small objects are
not lost in a fixed grid; (2) patch features of the crop (a user-supplied encoder; by default raw
pixel patches); (3) **masked k-means** (5 iterations) of the features inside the mask down to ≤
`tokens` object tokens; (4) the normalised box appended as position. The MLLM that reads the tokens
is out of scope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from tokensmith.errors import ConfigError
from tokensmith.neural.pruning.kmeans_pool import masked_kmeans_pool


@dataclass(frozen=True)
class SAOTConfig:
    tokens: int = 8
    """Token budget per object."""
    patch_size: int = 4
    """Patch side of the feature grid."""
    patches_per_token: int = 4
    """Target object area in patches per token (the paper: budget × 196 px at 14-px patches)."""
    margin: float = 0.1
    """Relative box margin of the crop."""
    kmeans_iters: int = 5
    """Lloyd iterations of the masked k-means."""
    adaptive: bool = True
    """False = no crop: k-means on the fixed full-image patch grid (the baseline)."""


def _patchify(img: torch.Tensor, p: int) -> torch.Tensor:
    c, h, w = img.shape
    return img.reshape(c, h // p, p, w // p, p).permute(1, 3, 0, 2, 4).reshape((h // p) * (w // p), c * p * p)


def object_tokens(image: torch.Tensor, mask: torch.Tensor, cfg: SAOTConfig = SAOTConfig(), *,
                  features: Optional[Callable[[torch.Tensor], torch.Tensor]] = None) -> dict:
    """image (C, H, W), mask (H, W) bool → {'tokens' (≤ tokens, D), 'box' (4,), 'n_masked_patches'}.

    `features(crop (C, h, w)) -> (h/p · w/p, D)` replaces the raw-patch features."""
    if not mask.any():
        raise ConfigError("object_tokens needs a non-empty mask")
    p = cfg.patch_size
    c, h, w = image.shape
    ys, xs = torch.nonzero(mask, as_tuple=True)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    box = torch.tensor([x0 / w, y0 / h, x1 / w, y1 / h])
    if cfg.adaptive:
        my, mx = int(math.ceil((y1 - y0) * cfg.margin)), int(math.ceil((x1 - x0) * cfg.margin))
        y0, y1, x0, x1 = max(0, y0 - my), min(h, y1 + my), max(0, x0 - mx), min(w, x1 + mx)
        crop, cmask = image[:, y0:y1, x0:x1], mask[y0:y1, x0:x1].float()
        area_px = float(cmask.sum())
        scale = math.sqrt(cfg.tokens * cfg.patches_per_token * p * p / max(area_px, 1.0))
        side_h = max(p, int(round(crop.shape[1] * scale / p)) * p)
        side_w = max(p, int(round(crop.shape[2] * scale / p)) * p)
        crop = F.interpolate(crop[None], size=(side_h, side_w), mode="bilinear", align_corners=False)[0]
        cmask = F.interpolate(cmask[None, None], size=(side_h, side_w), mode="nearest")[0, 0]
    else:
        crop, cmask = image, mask.float()
    feats = features(crop) if features else _patchify(crop, p)
    pm = F.avg_pool2d(cmask[None, None], p)[0, 0].flatten() > 0.5
    if not pm.any():  # object smaller than half a patch: keep its best-covered patch
        pm = F.avg_pool2d(cmask[None, None], p)[0, 0].flatten()
        pm = pm == pm.max()
    toks, valid = masked_kmeans_pool(feats[None], pm[None], cfg.tokens, cfg.kmeans_iters)
    return {"tokens": toks[0][valid[0]], "box": box, "n_masked_patches": int(pm.sum())}
