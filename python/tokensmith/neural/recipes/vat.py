"""VAT — "3D Representation in 512-Byte: Variational Tokenizer is the Key for Autoregressive 3D
Generation" (Zhang et al. 2025; project page only, no code), toy scale.

Unordered points → embedding → M learnable latent queries cross-attend the points (in-context
compression to a few tokens) → Gaussian (KL) regularisation of the latents → **multi-scale residual
quantization** over the latent sequence with growing token counts (1, 2, 4, …, M) → MLP decoder to a
fixed-size point set, trained with Chamfer distance. `bytes_at(n_scales)` gives the size of the
token prefix; decoding from fewer scales trades F-score for bytes. The triplane decoder and
Objaverse training are Tier 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tokensmith.neural.quantizers.multiscale_rvq import MultiScaleResidualVQ
from tokensmith.neural.recipes import _common as C

RECIPE = "vat"


@dataclass(frozen=True)
class VATConfig:
    points: int = 256
    """Points per shape (input and output)."""
    width: int = 64
    """Width of the embedding and latents."""
    latents: int = 8
    """M, latent tokens after compression."""
    scales: tuple = (1, 2, 4, 8)
    """Multi-scale residual token counts (last = latents)."""
    codebook_size: int = 256
    """Codes (shared across scales)."""
    kl_weight: float = 1e-4
    """Weight of the Gaussian (KL) term on the latents."""
    scale_dropout: float = 0.0
    """Probability of training on a prefix of the scales (so coarse prefixes decode well)."""


def chamfer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Symmetric mean squared-nearest-neighbour distance between point sets (B, P, 3), (B, Q, 3)."""
    d = torch.cdist(a.float(), b.float()).pow(2)
    return d.min(2).values.mean(1) + d.min(1).values.mean(1)


def fscore(a: torch.Tensor, b: torch.Tensor, tau: float = 0.05) -> torch.Tensor:
    d = torch.cdist(a.float(), b.float())
    p = (d.min(2).values < tau).float().mean(1)
    r = (d.min(1).values < tau).float().mean(1)
    return 2 * p * r / (p + r).clamp_min(1e-8)


class VAT(nn.Module):
    def __init__(self, cfg: VATConfig = VATConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.embed = nn.Sequential(nn.Linear(3, w), nn.GELU(), nn.Linear(w, w))
        self.queries = nn.Parameter(torch.randn(cfg.latents, w) * 0.02)
        self.cross = nn.MultiheadAttention(w, 4, batch_first=True)
        self.self_attn = C.Transformer(w, 1, 4)
        self.moments = nn.Linear(w, 2 * w)
        self.quant = MultiScaleResidualVQ(w, list(cfg.scales), cfg.codebook_size, ndim=1, phi_kernel=1, kmeans_init=True,
                                          scale_dropout=cfg.scale_dropout, scale_dropout_start=1)
        self.dec = nn.Sequential(nn.Linear(cfg.latents * w, 256), nn.GELU(), nn.Linear(256, cfg.points * 3))

    def latent(self, pts: torch.Tensor):
        h = self.embed(pts)
        q = self.queries.expand(pts.shape[0], -1, -1)
        lat = self.self_attn(self.cross(q, h, h)[0] + q)
        mean, logvar = self.moments(lat).float().chunk(2, -1)
        return mean, logvar.clamp(-30, 20)

    def encode(self, pts: torch.Tensor, n_scales: int | None = None):
        mean, _ = self.latent(pts)
        return self.quant(mean, n_scales=n_scales)

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        return self.dec(zq.flatten(1)).reshape(-1, self.cfg.points, 3)

    def forward(self, pts: torch.Tensor, n_scales: int | None = None):
        mean, logvar = self.latent(pts)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if self.training else mean
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(-1).mean()
        zq, idx, aux = self.quant(z, n_scales=n_scales)
        return self.decode(zq), idx, aux + self.cfg.kl_weight * kl

    def bytes_at(self, n_scales: int | None = None) -> float:
        n = len(self.cfg.scales) if n_scales is None else n_scales
        return sum(self.cfg.scales[:n]) * math.log2(self.cfg.codebook_size) / 8


def loss_fn(model: VAT, pts):
    rec, _, aux = model(pts)
    return chamfer(rec, pts).mean() + aux


def train(cfg: VATConfig, points, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = VAT(cfg)
    return model, C.train_model(model, (points,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, VAT, VATConfig)
