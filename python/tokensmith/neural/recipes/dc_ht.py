"""DC-AR / DC-HT — "DC-AR: Efficient Masked Autoregressive Image Generation with Deep Compression
Hybrid Tokenizer" (Wu et al. 2025, dc-ai-projects/DC-AR; README-only release), CPU size.

A deep-compression autoencoder made *hybrid*: each grid position gets a discrete token
(VQ of the latent) and a continuous **residual token** `r = z − sg(zq)` that carries what the
codebook missed; the decoder reads `zq + r`. Decoding with `use_residual=False` gives the
discrete-only reconstruction, so the PSNR gap closed by the residual is measurable in one model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tokensmith.neural.quantizers.vq import VectorQuantizer
from tokensmith.neural.recipes import _common as C

RECIPE = "dc_ht"


@dataclass(frozen=True)
class DCHTConfig:
    image_size: int = 8
    """Input side (8×8 digits → 2×2 latent grid: 4× spatial compression per axis)."""
    channels: int = 1
    """Image channels."""
    width: int = 32
    """Conv width."""
    latent_dim: int = 8
    """Latent channels per grid position."""
    codebook_size: int = 256
    """Codes of the discrete tokens."""
    hybrid: bool = True
    """Train with residual tokens (DC-HT); False = discrete-only tokenizer."""
    residual_dropout: float = 0.5
    """Probability of training a batch without the residual, so discrete tokens stay useful alone."""


class DCHT(nn.Module):
    def __init__(self, cfg: DCHTConfig = DCHTConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, d = cfg.width, cfg.latent_dim
        self.enc = nn.Sequential(nn.Conv2d(cfg.channels, w, 3, 2, 1), nn.SiLU(), nn.Conv2d(w, w, 3, 2, 1), nn.SiLU(),
                                 nn.Conv2d(w, d, 1))
        self.vq = VectorQuantizer(d, cfg.codebook_size, kmeans_init=True)
        self.dec = nn.Sequential(nn.Conv2d(d, w, 3, 1, 1), nn.SiLU(), nn.ConvTranspose2d(w, w, 4, 2, 1), nn.SiLU(),
                                 nn.ConvTranspose2d(w, cfg.channels, 4, 2, 1))

    def encode(self, x: torch.Tensor):
        """→ (discrete tokens (B, h, w) ids, continuous residual tokens (B, h, w, d), quantized, aux)."""
        z = self.enc(x).permute(0, 2, 3, 1)
        zq, idx, aux = self.vq(z)
        return idx, z - zq.detach(), zq, aux

    def decode(self, zq: torch.Tensor, residual=None) -> torch.Tensor:
        h = zq if residual is None else zq + residual
        return self.dec(h.permute(0, 3, 1, 2))

    def forward(self, x: torch.Tensor, use_residual: bool = True):
        _, r, zq, aux = self.encode(x)
        return self.decode(zq, r if (use_residual and self.cfg.hybrid) else None), aux


def loss_fn(model: DCHT, x: torch.Tensor) -> torch.Tensor:
    use_r = model.cfg.hybrid and bool(torch.rand(()) >= model.cfg.residual_dropout)
    rec, aux = model(x, use_residual=use_r)
    return F.mse_loss(rec.float(), x) + aux


def train(cfg: DCHTConfig, images, tc: C.TrainConfig = C.TrainConfig()):
    C.seed_everything(tc.seed)  # weights from the seed, not from torch's global RNG state
    model = DCHT(cfg)
    return model, C.train_model(model, (images,), loss_fn, tc)


save, load = C.recipe_io(RECIPE, DCHT, DCHTConfig)
