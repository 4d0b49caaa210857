"""ImageFolder — "Autoregressive Image Generation with Folded Tokens" (Li et al. 2025,
lxa9867/ImageFolder), CPU size.

**Product quantization** inside **multi-scale residual quantization** (VAR-style): the feature
grid is split into `branches` channel groups, each quantized coarse→fine by its own
`MultiScaleResidualVQ`; branch 0 is regularised to be *semantic* (in the paper toward DINOv2
features; here a linear class head on its pooled tokens, the only teacher we have offline), the
others carry detail. Equal-bit comparison: 1 branch with C² codes ≡ 2 branches with C codes each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.quantizers.multiscale_rvq import MultiScaleResidualVQ
from tokensmith.neural.recipes import _common as C

RECIPE = "imagefolder"


@dataclass(frozen=True)
class ImageFolderConfig:
    image_size: int = 16
    """Input side (16×16 shapes); the encoder downsamples 4× to a 4×4 grid."""
    channels: int = 1
    """Image channels."""
    width: int = 32
    """Feature channels of the grid (split across branches)."""
    branches: int = 2
    """Product-quantization branches (1 = plain multi-scale RVQ)."""
    scales: tuple = (1, 2, 4)
    """Multi-scale residual grid sizes, coarse → fine (last = 4 = the feature grid)."""
    codebook_size: int = 64
    """Codes per branch."""
    num_classes: int = 4
    """Classes for the semantic head on branch 0."""
    semantic_weight: float = 0.1
    """Weight of the semantic (class) loss on branch 0; 0 disables it."""

    def __post_init__(self):
        if self.width % self.branches:
            raise ConfigError(f"width {self.width} must be divisible by branches {self.branches}")

    @property
    def bits(self) -> float:
        return sum(s * s for s in self.scales) * self.branches * math.log2(self.codebook_size)


class ImageFolder(nn.Module):
    def __init__(self, cfg: ImageFolderConfig = ImageFolderConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.enc = nn.Sequential(nn.Conv2d(cfg.channels, w, 3, 2, 1), nn.SiLU(), nn.Conv2d(w, w, 3, 2, 1), nn.SiLU(),
                                 nn.Conv2d(w, w, 3, 1, 1))
        bd = w // cfg.branches
        self.quant = nn.ModuleList(MultiScaleResidualVQ(bd, list(cfg.scales), cfg.codebook_size, use_cosine=False,
                                                        kmeans_init=True) for _ in range(cfg.branches))
        self.sem_head = nn.Linear(bd, cfg.num_classes)
        self.dec = nn.Sequential(nn.Conv2d(w, w, 3, 1, 1), nn.SiLU(), nn.ConvTranspose2d(w, w, 4, 2, 1), nn.SiLU(),
                                 nn.ConvTranspose2d(w, cfg.channels, 4, 2, 1))

    def encode(self, x: torch.Tensor):
        """→ (quantized grid (B, 4, 4, width), per-branch indices [(B, Σ s²)], aux loss)."""
        h = self.enc(x).permute(0, 2, 3, 1)
        outs, idx, aux = [], [], h.new_zeros(())
        for chunk, q in zip(h.chunk(self.cfg.branches, -1), self.quant):
            zq, i, a = q(chunk)
            outs.append(zq)
            idx.append(i)
            aux = aux + a
        return torch.cat(outs, -1), idx, aux

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        return self.dec(zq.permute(0, 3, 1, 2))

    def forward(self, x: torch.Tensor):
        zq, idx, aux = self.encode(x)
        sem = self.sem_head(zq[..., : self.cfg.width // self.cfg.branches].mean((1, 2)))
        return self.decode(zq), sem, aux


def loss_fn(model: ImageFolder, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    rec, sem, aux = model(x)
    loss = F.mse_loss(rec.float(), x) + aux
    if model.cfg.semantic_weight:
        loss = loss + model.cfg.semantic_weight * F.cross_entropy(sem.float(), y)
    return loss


def train(cfg: ImageFolderConfig, images, labels, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = ImageFolder(cfg)
    return model, C.train_model(model, (images, labels), loss_fn, tc)


save, load = C.recipe_io(RECIPE, ImageFolder, ImageFolderConfig)
