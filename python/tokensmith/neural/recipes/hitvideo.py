"""HiTVideo — "Hierarchical Tokenizers for Enhancing Text-to-Video Generation with Autoregressive
LLMs" (Zhou et al. 2025; no code released), the tokenizer idea at CPU size.

Two token layers from one 3-D encoder: a **coarse** layer (T/4 × H/8 × W/8, meant to be semantic
and very compact) and a **fine** layer (T/4 × H/4 × W/4) that quantizes what the upsampled coarse
layer left over. Decoding from the coarse layer alone or from both gives two points of a
bits-per-pixel vs PSNR curve; `bpp()` does the accounting of neural.md B9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.quantizers.vq import VectorQuantizer
from tokensmith.neural.recipes import _common as C
from tokensmith.neural.recipes.magvit import Magvit, MagvitConfig

RECIPE = "hitvideo"


@dataclass(frozen=True)
class HiTVideoConfig:
    frames: int = 8
    """Frames per clip (multiple of 4)."""
    size: int = 32
    """Frame side (multiple of 8)."""
    channels: int = 1
    """Frame channels."""
    width: int = 32
    """Conv width."""
    latent_dim: int = 8
    """Token dimension of both layers."""
    coarse_codes: int = 256
    """Codebook of the coarse layer."""
    fine_codes: int = 256
    """Codebook of the fine layer."""


class HiTVideo(nn.Module):
    def __init__(self, cfg: HiTVideoConfig = HiTVideoConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        base = MagvitConfig(frames=cfg.frames, size=cfg.size, channels=cfg.channels, width=cfg.width,
                            latent_dim=cfg.latent_dim, codebook_size=cfg.fine_codes)
        self.backbone = Magvit(base)  # its encoder, decoder and VQ serve as the fine layer
        self.down = nn.Conv2d(cfg.latent_dim, cfg.latent_dim, 2, 2)
        self.coarse_vq = VectorQuantizer(cfg.latent_dim, cfg.coarse_codes, kmeans_init=True)

    def encode(self, video: torch.Tensor):
        z = self.backbone._enc_features(video)  # (B, T', H', W', d)
        b, t, h, w, d = z.shape
        zc = self.down(z.reshape(b * t, h, w, d).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        qc, ic, a1 = self.coarse_vq(zc)
        up = F.interpolate(qc.permute(0, 3, 1, 2), scale_factor=2, mode="nearest").permute(0, 2, 3, 1)
        up = up.reshape(b, t, h, w, d)
        qf, i_f, a2 = self.backbone.vq(z - up.detach())
        return up, qf, (ic.reshape(b, t, h // 2, w // 2), i_f), a1 + a2

    def forward(self, video: torch.Tensor, layers: int = 2):
        up, qf, idx, aux = self.encode(video)
        return self.backbone.decode(up if layers == 1 else up + qf), idx, aux

    def bpp(self, layers: int = 2) -> float:
        """Bits per pixel: Σ_layers tokens·log2|C| / (T·H·W)."""
        cfg = self.cfg
        t, h = cfg.frames // 4, cfg.size // 4
        bits = t * (h // 2) ** 2 * math.log2(cfg.coarse_codes)
        if layers == 2:
            bits += t * h * h * math.log2(cfg.fine_codes)
        return bits / (cfg.frames * cfg.size * cfg.size)


def loss_fn(model: HiTVideo, v: torch.Tensor) -> torch.Tensor:
    up, qf, _, aux = model.encode(v)
    rec_c, rec_f = model.backbone.decode(up), model.backbone.decode(up + qf)
    return F.mse_loss(rec_f.float(), v) + 0.5 * F.mse_loss(rec_c.float(), v) + aux


def train(cfg: HiTVideoConfig, videos, tc: C.TrainConfig = C.TrainConfig()):
    model = HiTVideo(cfg)
    return model, C.train_model(model, (videos,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, HiTVideo, HiTVideoConfig)
