"""MAGVIT — "Masked Generative Video Transformer" (Yu et al. 2023, google-research/magvit), the 3-D
VQ tokenizer at CPU size.

A 3-D conv encoder downsamples time and space (here T/4 × H/4 × W/4 with causal temporal padding,
the MAGVIT-v2 lineage: frame t never sees t+1) → VQ → a 3-D transposed-conv decoder. The baseline
(`mode="2d"`) tokenizes every frame alone with a 2-D conv VQ downsampled H/8 × W/8, which gives the
*same number of tokens* per clip (T·(H/8)² = (T/4)·(H/4)²), so the comparison is at equal bits.
The 3-D discriminator, 2-D→3-D inflation from a trained VQGAN and FVD need pretrained nets (Tier 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.errors import ConfigError
from tokensmith.neural.conv.causal3d import CausalConv3d
from tokensmith.neural.quantizers.vq import VectorQuantizer
from tokensmith.neural.recipes import _common as C

RECIPE = "magvit"


@dataclass(frozen=True)
class MagvitConfig:
    frames: int = 8
    """Frames per clip (a multiple of 4)."""
    size: int = 32
    """Frame side."""
    channels: int = 1
    """Frame channels."""
    width: int = 32
    """Conv width."""
    latent_dim: int = 8
    """Token dimension."""
    codebook_size: int = 256
    """VQ codes."""
    mode: str = "3d"
    """3d (MAGVIT: T/4, H/4, W/4) | 2d (per-frame VQ at H/8, W/8: equal token count)."""

    def __post_init__(self):
        if self.mode not in ("3d", "2d") or self.frames % 4 or self.size % 8:
            raise ConfigError("mode must be 3d or 2d, frames a multiple of 4, size a multiple of 8")

    @property
    def tokens_per_clip(self) -> int:
        return self.frames // 4 * (self.size // 4) ** 2 if self.mode == "3d" else self.frames * (self.size // 8) ** 2


class Magvit(nn.Module):
    def __init__(self, cfg: MagvitConfig = MagvitConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, c, d = cfg.width, cfg.channels, cfg.latent_dim
        if cfg.mode == "3d":
            # causal in time; strides (2,2,2) twice; time uses 'same'-length causal padding via CausalConv3d
            self.enc = nn.ModuleList([CausalConv3d(c, w, 3, (1, 2, 2)), CausalConv3d(w, w, 3, (1, 2, 2)),
                                      CausalConv3d(w, d, 1)])
            self.time_pool = 4
            self.dec = nn.Sequential(nn.ConvTranspose3d(d, w, (4, 4, 4), (4, 2, 2), (0, 1, 1)), nn.SiLU(),
                                     nn.Conv3d(w, w, 3, 1, 1), nn.SiLU(), nn.ConvTranspose3d(w, c, (1, 4, 4), (1, 2, 2), (0, 1, 1)))
        else:
            self.enc2 = nn.Sequential(nn.Conv2d(c, w, 3, 2, 1), nn.SiLU(), nn.Conv2d(w, w, 3, 2, 1), nn.SiLU(),
                                      nn.Conv2d(w, d, 3, 2, 1))
            self.dec2 = nn.Sequential(nn.ConvTranspose2d(d, w, 4, 2, 1), nn.SiLU(), nn.ConvTranspose2d(w, w, 4, 2, 1),
                                      nn.SiLU(), nn.ConvTranspose2d(w, c, 4, 2, 1))
        self.vq = VectorQuantizer(d, cfg.codebook_size, kmeans_init=True)

    def _enc_features(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, C, H, W) → latent grid channel-last."""
        b, t = video.shape[:2]
        if self.cfg.mode == "2d":
            z = self.enc2(video.flatten(0, 1))
            return z.reshape(b, t, *z.shape[1:]).permute(0, 1, 3, 4, 2)
        h = video.transpose(1, 2)  # (B, C, T, H, W)
        for i, layer in enumerate(self.enc):
            h = layer(h)
            if i < len(self.enc) - 1:
                h = F.silu(h)
        # causal temporal pooling: average each group of 4 frames (a frame never sees a later group)
        h = h.reshape(*h.shape[:2], t // self.time_pool, self.time_pool, *h.shape[3:]).mean(3)
        return h.permute(0, 2, 3, 4, 1)

    def encode(self, video: torch.Tensor):
        zq, idx, aux = self.vq(self._enc_features(video))
        return zq, idx, aux

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        if self.cfg.mode == "2d":
            b, t = zq.shape[:2]
            x = self.dec2(zq.flatten(0, 1).permute(0, 3, 1, 2))
            return x.reshape(b, t, *x.shape[1:])
        return self.dec(zq.permute(0, 4, 1, 2, 3)).transpose(1, 2)

    def forward(self, video: torch.Tensor):
        zq, idx, aux = self.encode(video)
        return self.decode(zq), idx, aux


def loss_fn(model: Magvit, v: torch.Tensor) -> torch.Tensor:
    rec, _, aux = model(v)
    return F.mse_loss(rec.float(), v) + aux


def train(cfg: MagvitConfig, videos, tc: C.TrainConfig = C.TrainConfig()):
    model = Magvit(cfg)
    return model, C.train_model(model, (videos,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, Magvit, MagvitConfig)
