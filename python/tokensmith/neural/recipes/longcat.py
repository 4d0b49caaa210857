"""LongCat-Audio-Codec (Meituan LongCat team 2025; meituan-longcat/LongCat-Audio-Codec, inference
only), CPU size.

Per low-rate frame: one **semantic** token (VQ; in the paper from a separately trained semantic
tokenizer — here trained jointly, the honest gap) plus 1–3 **acoustic levels** of **grouped
residual VQ** (each level = 2 groups × 90 codes ≈ 13 bits, cosine search in 8-d) quantizing what
the semantic code left. `bitrate_bps(n_levels)` reproduces the paper's accounting
(16.67 Hz × (13 + n·12.98) ≈ 0.43 / 0.65 / 0.87 kbps); our frames are at 50/3 Hz too (hop 480 at 8 kHz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.quantizers.grouped import GroupedVQ
from tokensmith.neural.quantizers.vq import VectorQuantizer
from tokensmith.neural.recipes import _common as C

RECIPE = "longcat"


@dataclass(frozen=True)
class LongCatConfig:
    bins: int = 64
    """Spectrogram bins per frame."""
    width: int = 64
    """Feature width."""
    semantic_codes: int = 8192
    """Semantic codebook (13 bits)."""
    acoustic_levels: int = 3
    """Grouped-RVQ levels available (1–3 used at decode time)."""
    groups: int = 2
    """Groups per acoustic level."""
    group_codes: int = 90
    """Codes per group (2 × 90 = 8,100 ids ≈ 12.98 bits per level)."""
    code_dim: int = 8
    """Cosine-search dimension of every codebook."""
    frame_rate: float = 50 / 3
    """Token frames per second (16.67 Hz)."""

    def bitrate_bps(self, n_levels: int) -> float:
        return self.frame_rate * (math.log2(self.semantic_codes) + n_levels * self.groups * math.log2(self.group_codes))


class LongCatCodec(nn.Module):
    def __init__(self, cfg: LongCatConfig = LongCatConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.enc = nn.Sequential(nn.Linear(cfg.bins, w), nn.GELU(), nn.Linear(w, w))
        self.semantic = VectorQuantizer(w, cfg.semantic_codes, codebook_dim=cfg.code_dim, use_cosine=True, kmeans_init=True)
        self.acoustic = nn.ModuleList(GroupedVQ(w, cfg.groups, cfg.group_codes, codebook_dim=cfg.code_dim // cfg.groups
                                                if cfg.code_dim % cfg.groups == 0 else None, use_cosine=True)
                                      for _ in range(cfg.acoustic_levels))
        self.dec = nn.Sequential(nn.Linear(w, w), nn.GELU(), nn.Linear(w, cfg.bins))

    def encode(self, spec: torch.Tensor, n_levels: int | None = None):
        """spec (B, F, bins) → (sum of quantized levels, ids [(B, F) semantic, (B, F) per acoustic level], aux)."""
        n = self.cfg.acoustic_levels if n_levels is None else n_levels
        h = self.enc(spec)
        q, i, aux = self.semantic(h)
        total, ids, res = q, [i], h - q
        for level in self.acoustic[:n]:
            ql, il, al = level(res)
            total, res, aux = total + ql, res - ql, aux + al
            ids.append(il)
        return total, ids, aux

    def decode(self, q: torch.Tensor) -> torch.Tensor:
        return self.dec(q)

    def forward(self, spec, n_levels=None):
        q, ids, aux = self.encode(spec, n_levels)
        return self.decode(q), ids, aux


def loss_fn(model: LongCatCodec, spec):
    n = int(torch.randint(0, model.cfg.acoustic_levels + 1, ()))  # quantizer dropout over levels
    rec, _, aux = model(spec, n)
    return F.mse_loss(rec.float(), spec) + aux


def train(cfg: LongCatConfig, spec, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = LongCatCodec(cfg)
    return model, C.train_model(model, (spec,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, LongCatCodec, LongCatConfig)
