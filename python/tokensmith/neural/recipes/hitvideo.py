"""HiTVideo — "Hierarchical Tokenizers for Enhancing Text-to-Video Generation with Autoregressive
LLMs" (Zhou et al. 2025; no code released), the tokenizer idea at CPU size.

Two token layers from one causal 3-D encoder (the MAGVIT recipe's, T′ = 1 + (T−1)/4): a **coarse** layer (T′ × H/8 × W/8, meant to be semantic
and very compact) and a **fine** layer (T′ × H/4 × W/4) that quantizes what the upsampled coarse
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
    """Coarse + fine token layers over the causal 3-D VQ of `recipes.magvit` (clips padded to 1 + 4k frames)."""

    def __init__(self, cfg: HiTVideoConfig = HiTVideoConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        frames = 1 + 4 * math.ceil((cfg.frames - 1) / 4)
        base = MagvitConfig(frames=frames, size=cfg.size, in_channels=cfg.channels, channels=(cfg.width, cfg.width),
                            latent_dim=cfg.latent_dim, codebook_size=cfg.fine_codes, token_dim=cfg.latent_dim)
        self.backbone = Magvit(base)  # its causal 3-D encoder, decoder and VQ serve as the fine layer
        self.down = nn.Conv2d(cfg.latent_dim, cfg.latent_dim, 2, 2)
        self.coarse_vq = VectorQuantizer(cfg.latent_dim, cfg.coarse_codes, kmeans_init=True)

    def encode(self, video: torch.Tensor):
        """→ (upsampled coarse codes, fine codes, (coarse ids, fine ids), aux) on the (T′, H/4, W/4) grid."""
        z = self.backbone.encode_continuous(video)  # (B, T', H', W', d)
        b, t, h, w, d = z.shape
        zc = self.down(z.reshape(b * t, h, w, d).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        qc, ic, a1 = self.coarse_vq(zc)
        up = F.interpolate(qc.permute(0, 3, 1, 2), scale_factor=2, mode="nearest").permute(0, 2, 3, 1)
        up = up.reshape(b, t, h, w, d)
        qf, i_f, a2 = self.backbone.quant(z - up.detach())
        return up, qf, (ic.reshape(b, t, h // 2, w // 2), i_f), a1 + a2

    def decode(self, q: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        return self.backbone.decode(q)[:, :frames or self.cfg.frames]

    def forward(self, video: torch.Tensor, layers: int = 2):
        up, qf, idx, aux = self.encode(video)
        return self.decode(up if layers == 1 else up + qf, video.shape[1]), idx, aux

    def bpp(self, layers: int = 2) -> float:
        """Bits per pixel: Σ_layers tokens·log2|C| / (T·H·W)."""
        cfg = self.cfg
        t, h, _ = self.backbone.cfg.latent_grid
        bits = t * (h // 2) ** 2 * math.log2(cfg.coarse_codes)
        if layers == 2:
            bits += t * h * h * math.log2(cfg.fine_codes)
        return bits / (cfg.frames * cfg.size * cfg.size)


def loss_fn(model: HiTVideo, v: torch.Tensor) -> torch.Tensor:
    up, qf, _, aux = model.encode(v)
    rec_c, rec_f = model.decode(up, v.shape[1]), model.decode(up + qf, v.shape[1])
    return F.mse_loss(rec_f.float(), v) + 0.5 * F.mse_loss(rec_c.float(), v) + aux


def train(cfg: HiTVideoConfig, videos, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = HiTVideo(cfg)
    return model, C.train_model(model, (videos,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, HiTVideo, HiTVideoConfig)
