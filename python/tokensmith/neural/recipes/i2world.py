"""I²-World — "Intra- and Inter-scene Tokenization for 4D Occupancy Forecasting" (Liao et al. 2025,
lzzzzzm/II-World, `ii_vector_quantizer.py`), CPU size.

Semantic occupancy (X × Y × Z class ids) → class embeddings folded into BEV channels (Z·E) → 2-D
conv encoder (×4 down) → **intra-scene multi-scale residual VQ** (3 scales) → optional
**inter-scene residual** steps: the residual left after the spatial scales, plus a projection of the
previous frame's quantized features, is quantized again, so a scene is coded relative to its
history → conv decoder → per-voxel class logits. Metric: reconstruction mIoU / IoU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.quantizers.multiscale_rvq import MultiScaleResidualVQ
from tokensmith.neural.quantizers.vq import VectorQuantizer
from tokensmith.neural.recipes import _common as C

RECIPE = "i2world"


@dataclass(frozen=True)
class I2WorldConfig:
    grid: tuple = (32, 32, 8)
    """Occupancy grid X, Y, Z."""
    classes: int = 4
    """Semantic classes including empty (0)."""
    embed_dim: int = 4
    """Class embedding width E (folded with Z into BEV channels)."""
    width: int = 64
    """BEV feature width."""
    scales: tuple = (2, 4, 8)
    """Intra-scene residual scales (last = BEV grid after ×4 down)."""
    codebook_size: int = 256
    """Codes (shared across scales)."""
    inter_scene: bool = True
    """Add the inter-scene residual step conditioned on the previous frame."""
    code_dim: int = 8
    """Dimension of the l2-normalised code space."""
    class_weights: tuple = ()
    """Per-class cross-entropy weights (empty = unweighted); occupancy is mostly empty space."""


class I2World(nn.Module):
    def __init__(self, cfg: I2WorldConfig = I2WorldConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        x, y, z = cfg.grid
        w = cfg.width
        self.cls_embed = nn.Embedding(cfg.classes, cfg.embed_dim)
        self.enc = nn.Sequential(nn.Conv2d(z * cfg.embed_dim, w, 3, 2, 1), nn.SiLU(), nn.Conv2d(w, w, 3, 2, 1))
        # l2-normalised low-dimensional codes: raw 64-d distances let the VQ loss swamp the CE and collapse the codes
        vq = dict(kmeans_init=True, use_cosine=True, codebook_dim=cfg.code_dim)
        self.intra = MultiScaleResidualVQ(w, list(cfg.scales), cfg.codebook_size, **vq)
        self.hist_proj = nn.Conv2d(w, w, 1)
        self.inter = VectorQuantizer(w, cfg.codebook_size, **vq)
        self.dec = nn.Sequential(nn.ConvTranspose2d(w, w, 4, 2, 1), nn.SiLU(), nn.ConvTranspose2d(w, w, 4, 2, 1),
                                 nn.SiLU(), nn.Conv2d(w, z * cfg.classes, 1))

    def features(self, occ: torch.Tensor) -> torch.Tensor:
        """occ (B, X, Y, Z) ids → BEV features (B, X/4, Y/4, width)."""
        e = self.cls_embed(occ)  # (B, X, Y, Z, E)
        bev = e.flatten(3).permute(0, 3, 1, 2)
        return self.enc(bev).permute(0, 2, 3, 1)

    def encode(self, occ: torch.Tensor, prev: torch.Tensor | None = None):
        f = self.features(occ)
        q, idx, aux = self.intra(f)
        ids = [idx]
        if self.cfg.inter_scene and prev is not None:
            with torch.no_grad():
                hist, _, _ = self.intra(self.features(prev))
            h = self.hist_proj(hist.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            q2, i2, a2 = self.inter(f - q + h)
            q, aux = q + q2 - h, aux + a2  # intra tokens + inter tokens, minus the history it was given
            ids.append(i2)
        return q, ids, aux

    def decode(self, q: torch.Tensor) -> torch.Tensor:
        x, y, z = self.cfg.grid
        logits = self.dec(q.permute(0, 3, 1, 2))  # (B, Z·C, X, Y)
        return logits.reshape(-1, z, self.cfg.classes, x, y).permute(0, 2, 3, 4, 1)  # (B, C, X, Y, Z)

    def forward(self, occ, prev=None):
        q, ids, aux = self.encode(occ, prev)
        return self.decode(q), ids, aux


def miou(pred: torch.Tensor, target: torch.Tensor, classes: int) -> tuple[float, float]:
    """(mIoU over non-empty classes present, geometry IoU occupied-vs-empty)."""
    ious = []
    for c in range(1, classes):
        inter = ((pred == c) & (target == c)).sum().item()
        union = ((pred == c) | (target == c)).sum().item()
        if union:
            ious.append(inter / union)
    occ_p, occ_t = pred > 0, target > 0
    geo = (occ_p & occ_t).sum().item() / max(1, (occ_p | occ_t).sum().item())
    return float(np.mean(ious)) if ious else 0.0, geo


def loss_fn(model: I2World, cur, prev):
    logits, _, aux = model(cur, prev)
    w = torch.tensor(model.cfg.class_weights, device=logits.device) if model.cfg.class_weights else None
    return F.cross_entropy(logits.float(), cur, weight=w) + aux


def train(cfg: I2WorldConfig, sequences: np.ndarray, tc: C.TrainConfig = C.TrainConfig()):
    """sequences (N, T, X, Y, Z): every consecutive pair (t−1, t) is a training example."""
    seq = torch.as_tensor(sequences)
    prev, cur = seq[:, :-1].flatten(0, 1), seq[:, 1:].flatten(0, 1)
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = I2World(cfg)
    return model, C.train_model(model, (cur, prev), loss_fn, tc)


save, load = C.recipe_io(RECIPE, I2World, I2WorldConfig)
